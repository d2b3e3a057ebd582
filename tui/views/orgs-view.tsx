import type { OrgsApi, ViewProps } from "../api";
import type { OrgRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useUi } from "../hooks/use-ui";
import { useListScreen } from "../hooks/use-list-screen";
import { fromScreen, ListFrame, tableRows } from "../components/list-frame";
import type { Column } from "../components/table";
import { changedValues, openForm } from "../state/form";
import { num } from "../format";
import type { FilterField } from "../state/list";
import { OrgDetails } from "./org-details";
import { orgKeyFields, shownOnceNote } from "./key-fields";
import { addMemberFields, createOrgFields, editMemberFields, grantFields, keyOptions, memberOptions, memberTarget, splitMemberTarget } from "./org-forms";

const columns: Column<OrgRow>[] = [
  { title: "NAME", width: "flex", cell: (o) => o.name },
  { title: "STATE", width: 9, cell: (o) => (o.suspended ? "suspended" : "active"), color: (o) => (o.suspended ? "red" : undefined) },
  { title: "BALANCE", width: 11, align: "right", cell: (o) => num(o.balance) },
  { title: "HELD", width: 9, align: "right", cell: (o) => num(o.heldCredits) },
  { title: "IN-FLIGHT", width: 9, align: "right", cell: (o) => `${o.inFlight}/${o.concurrency}` },
  { title: "MEMBERS", width: 7, align: "right", cell: (o) => String(o.members.length) },
  { title: "KEYS", width: 5, align: "right", cell: (o) => String(o.keys) },
];

// Members too: typing a user's name finds the orgs they belong to.
const filterBy: FilterField<OrgRow>[] = [
  { name: "name", text: (o) => o.name },
  { name: "member", text: (o) => o.members.map((m) => m.name).join(" ") },
];

/** Organizations with their shared balance, holds and members; create, add, edit and remove members, grant credits, make keys, suspend. */
export function OrgsView({ api, active, width, height, pollMs = 1500 }: ViewProps<OrgsApi>) {
  const poll = usePoll(() => api.orgs.list().then((r) => r.data as OrgRow[]), pollMs);
  const ui = useUi();
  const orgNamed = (name: string | number | undefined) => poll.data?.find((o) => o.name === name);
  const done = (text: string) => {
    poll.refresh();
    return text;
  };
  const pickMember = (id: string, title: string, o: OrgRow): void =>
    o.members.length === 0
      ? ui.report({ kind: "error", text: `${o.name} has no members yet: press a to add one` })
      : screen.openModal({ type: "pick", id, title, ...memberOptions(o), target: o.name });

  const screen = useListScreen<OrgRow>({
    rows: poll.data ?? [],
    idOf: (o) => o.id,
    filterBy,
    height: tableRows(height, poll.error),
    active,
    scope: "orgs",
    commands: {
      "org-create": () => screen.openModal({ type: "form", form: openForm("org-create", "New organization", createOrgFields) }),
      "org-member-add": (o) => o && screen.openModal({ type: "form", form: openForm("org-member-add", `Add a member to ${o.name}`, addMemberFields, { role: "member" }, o.name) }),
      "org-member-edit": (o) => o && pickMember("org-member-edit", `Whose role or caps in ${o.name}?`, o),
      "org-member-remove": (o) => o && pickMember("org-member-remove", `Remove whom from ${o.name}?`, o),
      "org-grant": (o) => o && screen.openModal({ type: "form", form: openForm("org-grant", `Grant credits to ${o.name}`, grantFields, {}, o.name) }),
      "org-key": (o) => o && screen.openModal({ type: "pick", id: "org-key", title: `New key for ${o.name}`, ...keyOptions(o), target: o.name }),
      "org-suspend": (o) =>
        o && screen.openModal(
          o.suspended
            ? { type: "confirm", id: "org-resume", target: o.name, prompt: `Resume ${o.name}? Its keys work again from the next request.` }
            : { type: "confirm", id: "org-suspend", target: o.name, prompt: `Suspend ${o.name}? Its keys get 403 org_suspended at once, and its running requests end.` },
        ),
    },
    relabel: (o) => (o?.suspended ? { "org-suspend": "resume" } : {}),
    pick: {
      "org-member-edit": (user, org) => {
        const m = orgNamed(org)?.members.find((x) => x.name === user);
        if (m) screen.openModal({ type: "form", form: openForm("org-member-edit", `Member ${m.name} of ${org}`, editMemberFields, m, memberTarget(String(org), m.name)) });
      },
      "org-member-remove": (user, org) => {
        const m = orgNamed(org)?.members.find((x) => x.name === user);
        const prompt = `Remove ${user}${m ? ` (${m.role})` : ""} from ${org}? Their member keys stop from the next request; service keys stay.`;
        screen.openModal({ type: "confirm", id: "org-member-remove", target: memberTarget(String(org), user), prompt });
      },
      "org-key": (value, org) => {
        const member = value.startsWith("member:") ? value.slice("member:".length) : null;
        const title = member ? `New key of ${member} in ${org}` : `New service key for ${org}`;
        screen.openModal({ type: "form", form: openForm("org-key", title, orgKeyFields(member !== null), member ? {} : { scopes: ["full"] }, member ? memberTarget(String(org), member) : String(org)) });
      },
    },
    submit: {
      "org-create": async (v) => {
        await api.orgs.create(v);
        return done(`org ${v.name} created${v.owner ? ` with owner ${v.owner}` : ""}`);
      },
      "org-member-add": async (v, form) => {
        await api.orgs.addMember(String(form.target), v);
        return done(`${v.user} added to ${form.target} as ${v.role}`);
      },
      "org-member-edit": async (v, form) => {
        const { org, user } = splitMemberTarget(form.target!);
        const body = changedValues(form, v);
        if (Object.keys(body).length === 0) return `${user} in ${org}: nothing changed`;
        await api.orgs.updateMember(org, user, body);
        return done(`${user} in ${org} updated: ${Object.keys(body).join(", ")}`);
      },
      "org-grant": async (v, form) => {
        await api.orgs.grant(String(form.target), { amount: v.amount as number, note: v.note as string | undefined });
        return done(`granted ${num(v.amount)} credits to ${form.target}`);
      },
      "org-key": async (v, form) => {
        const { org, user } = splitMemberTarget(form.target!);
        const created = await api.keys.create(user ? { org, member: user, ...v } : { org, service: true, ...v });
        const whose = user ? `${user}'s member key in ${org}` : `service key of ${org}`;
        screen.openModal({ type: "secret", title: `New key #${created.id}: ${whose}`, secret: String(created.key), note: shownOnceNote(created.revealable !== false), hideAt: null });
        return done(`key #${created.id} created: ${whose}`);
      },
    },
    confirm: {
      "org-member-remove": async (target) => {
        const { org, user } = splitMemberTarget(target);
        await api.orgs.removeMember(org, user);
        return done(`${user} removed from ${org}`);
      },
      "org-suspend": async (target) => {
        await api.orgs.update(String(target), { suspended: true });
        return done(`org ${target} suspended`);
      },
      "org-resume": async (target) => {
        await api.orgs.update(String(target), { suspended: false });
        return done(`org ${target} resumed`);
      },
    },
  });

  const o = screen.selected;
  return (
    <ListFrame
      title="Orgs"
      {...fromScreen(screen, poll)}
      columns={columns}
      width={width}
      height={height}
      empty="no organizations yet: press n to create one"
      details={(w, h) => o && <OrgDetails api={api} org={o} width={w} height={h} pollMs={pollMs} />}
    />
  );
}
