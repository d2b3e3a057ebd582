import { Component, type ReactNode } from "react";
import { Box, Text } from "ink";

type Props = { children: ReactNode; onError: (message: string) => void };

/** Keeps a view's render bug inside the view: a red line instead of a crash and a stack trace. */
export class ErrorBoundary extends Component<Props, { error: Error | null }> {
  override state = { error: null as Error | null };

  static getDerivedStateFromError(error: unknown) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: unknown) {
    this.props.onError(error instanceof Error ? error.message : String(error));
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <Box flexDirection="column">
        <Text color="red">This view failed: {this.state.error.message}</Text>
        <Text dimColor>Switch views (tab or a number) to reload it.</Text>
      </Box>
    );
  }
}
