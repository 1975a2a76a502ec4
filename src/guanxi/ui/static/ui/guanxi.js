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
