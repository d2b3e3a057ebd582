import { useState } from "react";
import type { ChannelsApi, ViewProps } from "../api";
import type { ChannelRow, ChannelType } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useAction } from "../hooks/use-action";
import { useUi } from "../hooks/use-ui";
import { describeError } from "../state/status";
import { useListScreen } from "../hooks/use-list-screen";
import { fromScreen, ListFrame, tableRows } from "../components/list-frame";
import { Details } from "../components/details";
import type { Column } from "../components/table";
import { isChanged, openForm, type FieldSpec, type FormState } from "../state/form";
import { when } from "../format";
import type { FilterField } from "../state/list";

const CHANNEL_TYPES = ["openai", "anthropic", "azure"] as const satisfies readonly ChannelType[];

/** Per type: what it speaks, and the base URL it takes (what that provider's own SDK takes). */
const TYPES: Record<ChannelType, { about: string; baseUrl: string }> = {
  openai: { about: "any OpenAI-compatible API", baseUrl: "…/v1, e.g. https://api.openai.com/v1" },
  anthropic: { about: "Anthropic's Messages API", baseUrl: "e.g. https://api.anthropic.com" },
  azure: { about: "Azure OpenAI deployments", baseUrl: "e.g. https://NAME.openai.azure.com" },
};
const typeIn = (v: Readonly<Record<string, string>>) => TYPES[v.type as ChannelType] ?? TYPES.openai;

const fields = (creating: boolean): FieldSpec[] => [
  { name: "name", label: "Name", kind: "text", required: creating },
  { name: "type", label: "Type", kind: "choice", choices: CHANNEL_TYPES, help: (v) => typeIn(v).about },
  { name: "group", label: "Group", kind: "text", help: "e.g. official or special (default official)" },
  { name: "baseUrl", label: "Base URL", kind: "text", required: creating, help: (v) => typeIn(v).baseUrl },
  { name: "apiVersion", label: "API version", kind: "text", help: (v) => `${v.type === "azure" ? "required for azure" : "azure only"}, e.g. 2024-10-21` },
  { name: "apiKey", label: "API key", kind: "secret", required: creating, help: creating ? "the upstream's key" : "blank = keep the current one" },
  { name: "models", label: "Models", kind: "list", help: "comma-separated" },
  { name: "priority", label: "Priority", kind: "int", help: "higher is tried first (default 0)" },
  { name: "weight", label: "Weight", kind: "int", help: "share among equal priority (default 1)" },
  { name: "modelMap", label: "Model map", kind: "map", help: "alias=upstream-model, comma-separated" },
];

/**
 * The PATCH body of an edit: type and api version only when changed, so an edit that touches neither
 * is not refused over a pairing already stored; a cleared api version is sent as null.
 */
function editBody(form: FormState, v: Record<string, unknown>) {
  const { type, apiVersion, ...rest } = v;
  return { ...rest, ...(isChanged(form, "type") && { type }), ...(isChanged(form, "apiVersion") && { apiVersion: apiVersion ?? null }) };
}

/** The type, and the api version where it is used (azure). */
const typeLines = (c: ChannelRow): [string, unknown][] => [["type", c.type], ...(c.type === "azure" ? [["api version", c.apiVersion ?? "-"] as [string, unknown]] : [])];

const HEALTH = {
  closed: { text: "ok", color: "green" },
  half_open: { text: "probing", color: "yellow" },
  open: { text: "cooling", color: "red" },
} as const;

export type TestResult = { ok: boolean; latencyMs?: number; status?: number; error?: string };

export const describeTest = (c: { name: string }, r: TestResult) =>
  r.ok
    ? `channel ${c.name}: ok in ${r.latencyMs ?? "?"} ms${r.status ? ` (HTTP ${r.status})` : ""}`
    : `channel ${c.name}: failed: ${r.error ?? (r.status ? `HTTP ${r.status}` : "no detail")}`;

const columns: Column<ChannelRow>[] = [
  { title: "ID", width: 4, align: "right", cell: (c) => String(c.id) },
  { title: "NAME", width: 14, cell: (c) => c.name },
  { title: "TYPE", width: 9, cell: (c) => c.type },
  { title: "GROUP", width: 9, cell: (c) => c.group },
  { title: "PRIO", width: 5, align: "right", cell: (c) => String(c.priority) },
  { title: "WT", width: 4, align: "right", cell: (c) => String(c.weight) },
  { title: "ON", width: 3, cell: (c) => (c.enabled ? "yes" : "no"), color: (c) => (c.enabled ? undefined : "red") },
  { title: "HEALTH", width: 8, cell: (c) => (c.health ? HEALTH[c.health.state]?.text ?? c.health.state : "-"), color: (c) => (c.health ? HEALTH[c.health.state]?.color : undefined) },
  { title: "FAILS", width: 5, align: "right", cell: (c) => String(c.health?.consecutiveFailures ?? 0) },
  { title: "LAST ERROR", width: "flex", cell: (c) => c.health?.lastError ?? "-", color: (c) => (c.health?.lastError ? "red" : undefined) },
];

// The base URL too: it names the provider ("azure", "openai"), which the channel's name may not.
const filterBy: FilterField<ChannelRow>[] = [
  { name: "name", text: (c) => c.name },
  { name: "base URL", text: (c) => c.baseUrl },
];

/** Upstream channels with their breaker state; create, edit, enable/disable, test and delete them. */
export function ChannelsView({ api, active, width, height, pollMs = 1500 }: ViewProps<ChannelsApi>) {
  const poll = usePoll(() => api.channels.list().then((r) => r.data as ChannelRow[]), pollMs);
  const act = useAction();
  const ui = useUi();
  const [tests, setTests] = useState<Record<number, TestResult & { at: number }>>({});

  const testChannel = async (c: ChannelRow) => {
    ui.report({ kind: "busy", text: `testing channel ${c.name}…` });
    try {
      const r = (await api.channels.test(c.id)) as TestResult;
      setTests((t) => ({ ...t, [c.id]: { ...r, at: Date.now() } }));
      ui.report({ kind: r.ok ? "info" : "error", text: describeTest(c, r) });
      poll.refresh();
    } catch (e) {
      ui.report({ kind: "error", text: `test channel ${c.name}: ${describeError(e)}` });
    }
  };

  const screen = useListScreen<ChannelRow>({
    rows: poll.data ?? [],
    idOf: (c) => c.id,
    filterBy,
    height: tableRows(height, poll.error),
    active,
    scope: "channels",
    commands: {
      "channel-create": () => screen.openModal({ type: "form", form: openForm("channel-create", "New channel", fields(true), { group: "official", priority: 0, weight: 1 }) }),
      "channel-edit": (c) => c && screen.openModal({ type: "form", form: openForm("channel-edit", `Edit channel ${c.name}`, fields(false), { name: c.name, type: c.type, apiVersion: c.apiVersion, group: c.group, baseUrl: c.baseUrl, models: c.models, priority: c.priority, weight: c.weight, modelMap: c.modelMap }, c.id) }),
      "channel-toggle": (c) =>
        c && void act(`${c.enabled ? "disable" : "enable"} channel ${c.name}`, () => api.channels.update(c.id, { enabled: !c.enabled }), () => {
          poll.refresh();
          return `channel ${c.name} ${c.enabled ? "disabled" : "enabled"}`;
        }),
      "channel-test": (c) => c && void testChannel(c),
      "channel-delete": (c) =>
        c && screen.openModal({ type: "confirm", id: "channel-delete", target: c.id, prompt: `Delete channel ${c.name} (#${c.id})? Requests are no longer routed to it, and its upstream key is gone.` }),
    },
    submit: {
      "channel-create": async (v) => {
        const c = await api.channels.create(v);
        poll.refresh();
        return `channel ${c.name ?? v.name} created`;
      },
      "channel-edit": async (v, form) => {
        await api.channels.update(form.target!, editBody(form, v));
        poll.refresh();
        return `channel ${v.name ?? form.target} updated`;
      },
    },
    confirm: {
      "channel-delete": async (id) => {
        const name = poll.data?.find((c) => c.id === id)?.name ?? `#${id}`;
        await api.channels.delete(id);
        poll.refresh();
        return `channel ${name} deleted`;
      },
    },
  });

  const c = screen.selected;
  const test = c ? tests[c.id] : undefined;
  return (
    <ListFrame
      title="Channels"
      {...fromScreen(screen, poll)}
      columns={columns}
      width={width}
      height={height}
      empty="no channels yet: press n to add one"
      details={(w, h) =>
        c && (
          <Details
            title={`Channel ${c.name}`}
            width={w}
            height={h}
            fields={[
              ["id", c.id], ...typeLines(c), ["group", c.group], ["base URL", c.baseUrl], ["models", c.models], ["model map", c.modelMap],
              ["priority", c.priority], ["weight", c.weight], ["enabled", c.enabled],
              ["health", c.health ? `${c.health.state}, ${c.health.consecutiveFailures} failures in a row` : "-"],
              ["last error", c.health?.lastError ? `${c.health.lastError} (${when(c.health.lastErrorAt)})` : "-"],
              ["cool-down until", c.health?.cooldownUntil ? when(c.health.cooldownUntil) : "-"],
              ["last test", test ? `${describeTest(c, test)} at ${when(test.at)}` : "not tested (press t)"],
              ["timeouts", `first byte ${c.firstByteTimeoutMs ?? "default"} ms, idle ${c.idleTimeoutMs ?? "default"} ms`],
              ["headers", Object.keys(c.headers ?? {})],
            ]}
          />
        )
      }
    />
  );
}
