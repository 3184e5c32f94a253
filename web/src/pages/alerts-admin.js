// The Alerts page's channels (administrators: they hold secrets, which are sent once and never shown
// back) and silences (maintenance windows), with the small form helpers the page shares.
import { api } from "../api.js";
import { el, emptyNote, fmtTime, table } from "../dom.js";

export function field(label, input, help) {
  const id = "f-" + Math.random().toString(36).slice(2, 8);
  input.id = id;
  return el("div", { class: "form-row" }, el("label", { for: id }, label), input, help ? el("p", { class: "help" }, help) : null);
}

export function statusLine() {
  const node = el("p", { class: "status", role: "status", "aria-live": "polite" });
  return { node, set(text, kind = "") { node.textContent = text; node.className = `status ${kind}`; } };
}

// A destructive button asks twice (no browser dialog): the first click arms it, the second acts.
export function confirmButton(label, ariaLabel, action, flash) {
  let armed = false;
  const button = el("button", { type: "button", "aria-label": ariaLabel, onclick: async () => {
    if (!armed) {
      armed = true;
      button.textContent = "Confirm: " + label.toLowerCase();
      button.setAttribute("aria-label", "Confirm: " + ariaLabel.toLowerCase());
      button.classList.add("danger");
      return;
    }
    button.disabled = true;
    try { await action(); } catch (err) {
      flash.set(`Not done: ${err.message}`, "bad");
      button.disabled = false;
    }
  }, onblur: () => {
    armed = false;
    button.textContent = label;
    button.setAttribute("aria-label", ariaLabel);
    button.classList.remove("danger");
  } }, label);
  return button;
}

const KINDS = [["webhook", "Webhook (signed JSON)"], ["slack", "Slack-compatible incoming webhook"], ["email", "E-mail (SMTP)"]];
const SECRET_LABELS = { secret: "signing secret", url: "webhook URL", password: "SMTP password" };

function target(c) {
  if (c.kind === "webhook") return c.url;
  if (c.kind === "email") return (c.to || []).join(", ");
  return "(the webhook URL is a secret)";
}

function channelForm(old, done, cancel) {
  const c = old || { kind: "webhook", name: "", secrets: [] };
  const kept = (name) => (old && old.kind === c.kind && c.secrets.includes(name) ? "stored: leave empty to keep it" : "");
  const text = (value, attrs = {}) => el("input", { type: "text", value: value ?? "", spellcheck: "false", ...attrs });
  const secret = (name) => el("input", { type: "password", autocomplete: "new-password", value: "", placeholder: kept(name) });
  const name = text(c.name, { required: true, maxlength: "200" });
  const kind = el("select", {}, KINDS.map(([v, t]) => el("option", { value: v, selected: v === c.kind }, t)));
  const url = text(c.url), key = secret("secret"), slackUrl = secret("url");
  const host = text(c.host), port = el("input", { type: "number", value: String(c.port ?? 587), min: "1", max: "65535" });
  const starttls = el("input", { type: "checkbox", checked: c.starttls ?? true });
  const user = text(c.username, { autocomplete: "off" }), password = secret("password");
  const sender = text(c.sender), to = text((c.to || []).join(", "));
  const groups = {
    webhook: el("div", { class: "form-grid" }, field("URL", url), field("Signing secret (optional)", key, "Signs each payload with HMAC-SHA256.")),
    slack: el("div", { class: "form-grid" }, field("Incoming webhook URL", slackUrl, "Whoever has it may post: it is stored as a secret.")),
    email: el("div", {}, el("div", { class: "form-grid" }, field("SMTP host", host), field("Port", port), field("User name (optional)", user),
      field("Password (optional)", password), field("From", sender), field("To (comma-separated)", to)),
    el("label", { class: "check" }, starttls, " Send only after STARTTLS succeeds")),
  };
  const show = () => { for (const [k, g] of Object.entries(groups)) g.hidden = k !== kind.value; };
  kind.addEventListener("change", show);
  show();
  const status = statusLine();
  const body = () => {
    const k = kind.value, b = { name: name.value.trim(), kind: k };
    if (k === "webhook") Object.assign(b, { url: url.value.trim() }, key.value ? { secret: key.value } : {});
    if (k === "slack" && slackUrl.value) b.url = slackUrl.value.trim();
    if (k === "email") Object.assign(b, { host: host.value.trim(), port: +port.value, starttls: starttls.checked, username: user.value.trim(),
      sender: sender.value.trim(), to: to.value.split(",").map((s) => s.trim()).filter(Boolean) }, password.value ? { password: password.value } : {});
    return b;
  };
  return el("form", { class: "channel-form", "aria-label": old ? `Edit channel ${c.name}` : "New channel", onsubmit: async (e) => {
    e.preventDefault();
    status.set("Saving…");
    try {
      const path = old ? `/api/v1/alerts/channels/${encodeURIComponent(old.id)}` : "/api/v1/alerts/channels";
      const saved = await api(path, { method: old ? "PUT" : "POST", body: body() });
      done(`Channel “${saved.name}” saved.`);
    } catch (err) { status.set("Not saved: " + err.message, "bad"); }
  } },
    el("div", { class: "form-grid" }, field("Name", name), field("Kind", kind)), ...Object.values(groups),
    el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary" }, old ? "Save channel" : "Add channel"),
      el("button", { type: "button", class: "ghost", onclick: cancel }, "Cancel"), status.node));
}

export function channelsCard(main, view, { admin, channels, flash, onChange }) {
  if (!admin) {
    main.append(el("section", { class: "card" }, el("div", { class: "card-head" }, el("h2", {}, "Channels")),
      emptyNote("Channels hold secrets: only an administrator sees and changes them.")));
    return;
  }
  const formBox = el("div", {});
  const load = async (p, list) => {
    const found = list || (await api("/api/v1/alerts/channels")).channels;
    onChange(found);
    p.fill(found.length ? table([
      { key: "name", label: "Name" },
      { key: "kind", label: "Kind" },
      { label: "Sends to", cls: "dimval", fmt: (_, c) => target(c) },
      { label: "Secrets", fmt: (_, c) => (c.secrets.length ? c.secrets.map((s) => `${SECRET_LABELS[s] || s} set`).join(", ") : "none") },
      { label: "", fmt: (_, c) => el("span", { class: "row-actions" },
        el("button", { type: "button", onclick: () => open(c) }, "Edit"),
        el("button", { type: "button", onclick: async () => {
          flash.set(`Sending a test notification through “${c.name}”…`);
          try {
            const r = await api(`/api/v1/alerts/channels/${encodeURIComponent(c.id)}/test`, { method: "POST" });
            const a = r.attempts[0];
            flash.set(r.ok ? `Test notification sent through “${c.name}”.` : `The test notification failed: ${a ? a.status : "no attempt"}.`, r.ok ? "ok" : "bad");
          } catch (err) { flash.set("Cannot test: " + err.message, "bad"); }
        } }, "Send test"),
        confirmButton("Delete", `Delete channel ${c.name}`, async () => {
          await api(`/api/v1/alerts/channels/${encodeURIComponent(c.id)}`, { method: "DELETE" });
          flash.set(`Channel “${c.name}” deleted.`, "ok");
          await reload();
        }, flash)) },
    ], found, { label: "Channels" }) : emptyNote("No channel yet: incidents are listed here but nobody is notified."), formBox);
  };
  const add = el("button", { type: "button", onclick: () => open(null) }, "Add channel");
  const p = view.panel(main, "Channels", (q) => load(q, channels), { actions: add });
  const reload = () => load(p).catch((e) => p.fail(e));
  const open = (c) => {
    // Closed once saved: the secrets typed in leave the page with the form.
    const done = (text) => { formBox.replaceChildren(); flash.set(text, "ok"); reload(); };
    formBox.replaceChildren(channelForm(c, done, () => formBox.replaceChildren()));
    formBox.querySelector("input").focus();
  };
}

// datetime-local values are local times: the API is told the instant.
const localInput = (d) => new Date(d - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);

export function silencesCard(main, view, { admin, writer, rules, flash }) {
  const app = view.app;
  const formBox = el("div", {});
  const mayChange = (s) => (s.app == null ? admin : writer);
  const scope = (s, list) => (s.app == null ? "Every application" : s.rule
    ? `Rule “${(list.find((r) => r.id === s.rule) || { name: s.rule }).name}”` : "This application");
  const load = async (p) => {
    const found = (await api("/api/v1/alerts/silences")).silences.filter((s) => s.app == null || s.app === app.id);
    const now = Date.now();
    p.fill(found.length ? table([
      { label: "Mutes", fmt: (_, s) => scope(s, rules()) },
      { label: "From", fmt: (_, s) => fmtTime(s.start) },
      { label: "To", fmt: (_, s) => fmtTime(s.end) },
      { label: "Now", fmt: (_, s) => (Date.parse(s.end) <= now ? "Over" : Date.parse(s.start) > now ? "Planned" : "Active") },
      { key: "comment", label: "Comment", cls: "msg" },
      { label: "", fmt: (_, s) => (mayChange(s) ? confirmButton("Delete", `Delete silence ${s.comment || s.id}`, async () => {
        await api(`/api/v1/alerts/silences/${encodeURIComponent(s.id)}`, { method: "DELETE" });
        flash.set("Silence deleted.", "ok");
        await reload();
      }, flash) : "") },
    ], found, { label: "Silences" }) : emptyNote("No silence: every incident is notified."), formBox);
  };
  const open = () => {
    const choices = [["app", "This application"], ...rules().map((r) => [`rule:${r.id}`, `Rule “${r.name}”`]), ...(admin ? [["all", "Every application"]] : [])];
    const what = el("select", {}, choices.map(([v, t]) => el("option", { value: v }, t)));
    const now = new Date();
    const start = el("input", { type: "datetime-local", value: localInput(now), required: true });
    const end = el("input", { type: "datetime-local", value: localInput(new Date(now.getTime() + 2 * 3600e3)), required: true });
    const comment = el("input", { type: "text", maxlength: "1000", placeholder: "e.g. database upgrade" });
    const status = statusLine();
    const form = el("form", { "aria-label": "New silence", onsubmit: async (e) => {
      e.preventDefault();
      const v = what.value;
      const body = { start: new Date(start.value).toISOString(), end: new Date(end.value).toISOString(), comment: comment.value.trim(),
        app: v === "all" ? null : app.id, ...(v.startsWith("rule:") ? { rule: v.slice(5) } : {}) };
      try {
        await api("/api/v1/alerts/silences", { method: "POST", body });
        formBox.replaceChildren();
        flash.set("Silence added: nothing it covers is notified meanwhile.", "ok");
        reload();
      } catch (err) { status.set("Not saved: " + err.message, "bad"); }
    } },
      el("div", { class: "form-grid" }, field("Mute", what), field("From", start), field("To", end), field("Comment", comment)),
      el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary" }, "Add silence"),
        el("button", { type: "button", class: "ghost", onclick: () => formBox.replaceChildren() }, "Cancel"), status.node));
    formBox.replaceChildren(form);
    what.focus();
  };
  const add = writer ? el("button", { type: "button", onclick: open }, "Add silence") : null;
  const p = view.panel(main, "Silences and maintenance windows", load, { actions: add });
  const reload = () => load(p).catch((e) => p.fail(e));
}
