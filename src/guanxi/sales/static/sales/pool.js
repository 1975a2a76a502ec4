// A checkbox with data-select-all="<name>" ticks every checkbox called <name> on the page.
document.addEventListener("change", (e) => {
  const all = e.target.closest("input[data-select-all]");
  if (!all) return;
  document.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`)
    .forEach((box) => { box.checked = all.checked; });
});
