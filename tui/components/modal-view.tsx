import type { Modal } from "../state/modal";
import { Confirm } from "./confirm";
import { Form } from "./form";
import { Picker } from "./picker";
import { Secret } from "./secret";

/** Draws whichever modal a view has open. */
export function ModalView({ modal, width, height }: { modal: Modal; width: number; height: number }) {
  switch (modal.kind) {
    case "none":
      return null;
    case "form":
      return <Form form={modal.form} width={width} />;
    case "confirm":
      return <Confirm prompt={modal.prompt} width={width} />;
    case "secret":
      return <Secret title={modal.title} secret={modal.secret} note={modal.note} hideAt={modal.hideAt} width={width} />;
    case "pick":
      return <Picker title={modal.title} options={modal.options} index={modal.index} width={width} height={height} />;
  }
}
