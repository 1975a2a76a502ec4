// Small progressive enhancements; every page works without them.
document.addEventListener("change", (e) => {
  if (e.target.matches("[data-autosubmit]")) e.target.form.submit();
});
document.addEventListener("click", (e) => {
  const t = e.target.closest("[data-toggle=nav]");
  if (t) {
    const nav = document.getElementById("mainnav");
    const open = nav.classList.toggle("open");
    t.setAttribute("aria-expanded", open ? "true" : "false");
  }
});
// "/" focuses global search, Escape leaves it.
document.addEventListener("keydown", (e) => {
  const q = document.getElementById("global-q");
  if (!q) return;
  if (e.key === "/" && !e.target.closest("input, textarea, select, [contenteditable]")) {
    e.preventDefault(); q.focus(); q.select();
  } else if (e.key === "Escape" && document.activeElement === q) {
    document.getElementById("global-results").innerHTML = ""; q.blur();
  }
});
// Forms with data-confirm ask before a (non-HTMX) POST such as delete; HTMX forms use hx-confirm.
document.addEventListener("submit", (e) => {
  const form = e.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
});
// Dismiss a flash message.
document.addEventListener("click", (e) => {
  const b = e.target.closest("[data-dismiss]");
  if (b) b.parentElement.remove();
});
// After the quick log succeeds, put the cursor back in its summary for the next entry.
document.addEventListener("interaction-logged", () => {
  setTimeout(() => {
    const s = document.querySelector("#quick-log input[name=subject]");
    if (s) s.focus();
  }, 0);
});
// A link with data-carry-form="<form id>" takes what was typed there along (e.g. the
// quick log's "More details…" opens the full form with kind, summary and outcome filled).
document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-carry-form]");
  const form = a && document.getElementById(a.dataset.carryForm);
  if (!form) return;
  const params = new URLSearchParams();
  for (const el of form.elements) {
    if (!el.name || el.type === "hidden" || el.type === "submit" || !el.value) continue;
    params.set(el.name, el.value);
  }
  e.preventDefault();
  window.location.href = a.href.split("?")[0] + (params.toString() ? "?" + params : "");
});
// Filter forms marked data-drop-empty leave empty fields out of the URL they push.
document.addEventListener("htmx:configRequest", (e) => {
  if (e.detail.verb !== "get" || !e.detail.elt.closest("[data-drop-empty]")) return;
  const params = e.detail.parameters;
  for (const key of Object.keys(params)) {
    if (params[key] === "") delete params[key];
  }
});
