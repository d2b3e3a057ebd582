import type { PricesApi, ViewProps } from "../api";
import type { PriceRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useListScreen } from "../hooks/use-list-screen";
import { ListFrame, tableRows } from "../components/list-frame";
import { Details } from "../components/details";
import type { Column } from "../components/table";
import { openForm, type FieldSpec } from "../state/form";
import { num, when } from "../format";
import type { FilterField } from "../state/list";

/** A cache rate left unset costs the input rate: said so, not shown as a number nobody set. */
const cacheRate = (n: number | null) => (n === null ? "= input" : num(n));

const columns: Column<PriceRow>[] = [
  { title: "MODEL", width: "flex", cut: "middle", cell: (p) => p.model },
  { title: "INPUT", width: 9, align: "right", cell: (p) => num(p.inputPerMTok) },
  { title: "OUTPUT", width: 9, align: "right", cell: (p) => num(p.outputPerMTok) },
  { title: "CACHED", width: 9, align: "right", cell: (p) => cacheRate(p.cachedInputPerMTok) },
  { title: "WRITE", width: 9, align: "right", cell: (p) => cacheRate(p.cacheWritePerMTok) },
  { title: "PER REQ", width: 8, align: "right", cell: (p) => num(p.perRequest) },
  { title: "UPDATED", width: 10, cell: (p) => when(p.updatedAt).slice(0, 10) },
];

const filterBy: FilterField<PriceRow>[] = [{ name: "model", text: (p) => p.model }];

const rateFields: FieldSpec[] = [
  { name: "inputPerMTok", label: "Input", kind: "int", required: true, help: "credits per million input tokens" },
  { name: "outputPerMTok", label: "Output", kind: "int", required: true, help: "credits per million output tokens" },
  { name: "cachedInputPerMTok", label: "Cached input", kind: "int", help: "tokens read from the prompt cache; blank = the input rate" },
  { name: "cacheWritePerMTok", label: "Cache write", kind: "int", help: "tokens written to the prompt cache; blank = the input rate" },
  { name: "perRequest", label: "Per request", kind: "int", help: "credits per successful request (default 0)" },
  { name: "batchDiscount", label: "Batch discount", kind: "int", help: "percent off every rate in batches, 0 to 100 (default 50)" },
];
const setFields: FieldSpec[] = [{ name: "model", label: "Model", kind: "text", required: true, help: "as clients name it; a model with a price gets this one instead" }, ...rateFields];

/**
 * The PUT body: every rate, since a PUT replaces the price whole; blank cache rates are null (the input
 * rate), a blank per-request price 0.
 */
const priceBody = (v: Record<string, unknown>) => ({
  inputPerMTok: v.inputPerMTok as number,
  outputPerMTok: v.outputPerMTok as number,
  cachedInputPerMTok: (v.cachedInputPerMTok as number | undefined) ?? null,
  cacheWritePerMTok: (v.cacheWritePerMTok as number | undefined) ?? null,
  perRequest: (v.perRequest as number | undefined) ?? 0,
  batchDiscount: (v.batchDiscount as number | undefined) ?? 50,
});

/** Model prices in credits per million tokens: set (a form, the model its key), change and delete them. */
export function PricesView({ api, active, width, height, pollMs = 1500 }: ViewProps<PricesApi>) {
  const poll = usePoll(() => api.prices.list().then((r) => r.data as PriceRow[]), pollMs);
  const screen = useListScreen<PriceRow>({
    rows: poll.data ?? [],
    idOf: (p) => p.model,
    filterBy,
    height: tableRows(height, poll.error),
    active,
    scope: "prices",
    commands: {
      "price-set": () => screen.openModal({ type: "form", form: openForm("price-set", "Set a model's price", setFields) }),
      "price-edit": (p) => p && screen.openModal({ type: "form", form: openForm("price-edit", `Price of ${p.model}`, rateFields, p, p.model) }),
      "price-delete": (p) =>
        p && screen.openModal({ type: "confirm", id: "price-delete", target: p.model, prompt: `Delete the price of ${p.model}? Requests for it cost nothing from now on.` }),
    },
    submit: {
      "price-set": async (v) => {
        await api.prices.set(String(v.model), priceBody(v));
        poll.refresh();
        return `price of ${v.model} set`;
      },
      "price-edit": async (v, form) => {
        await api.prices.set(String(form.target), priceBody(v));
        poll.refresh();
        return `price of ${form.target} updated`;
      },
    },
    confirm: {
      "price-delete": async (model) => {
        await api.prices.delete(String(model));
        poll.refresh();
        return `price of ${model} deleted`;
      },
    },
  });
  const p = screen.selected;
  return (
    <ListFrame
      title="Prices"
      note="credits per million tokens"
      total={poll.data?.length}
      shown={screen.filtered.length}
      list={screen.list}
      filterLabel={screen.filterLabel}
      error={poll.error}
      columns={columns}
      window={screen.window}
      keyOf={(row) => row.model}
      modal={screen.modal}
      width={width}
      height={height}
      empty="no prices yet (every model costs 0): press n to set one"
      details={(w, h) =>
        p && (
          <Details
            title={`Price of ${p.model}`}
            width={w}
            height={h}
            fields={[
              ["model", p.model, { wrap: true }], ["input", num(p.inputPerMTok)], ["output", num(p.outputPerMTok)],
              ["cached input", p.cachedInputPerMTok === null ? `the input rate (${num(p.inputPerMTok)})` : num(p.cachedInputPerMTok)],
              ["cache write", p.cacheWritePerMTok === null ? `the input rate (${num(p.inputPerMTok)})` : num(p.cacheWritePerMTok)],
              ["per request", num(p.perRequest)], ["batch discount", `${p.batchDiscount}%`], ["updated", when(p.updatedAt)],
            ]}
          />
        )
      }
    />
  );
}
