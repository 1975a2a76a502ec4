// Pipeline board: drag a card (plain HTML5 drag events) or use its "Move to" menu.
// The move is POSTed with the CSRF token and the card's version; the server answers
// with the re-rendered board (200), or with what is missing (422), a conflict (409) or
// a refusal (403), shown next to the card, which stays where it was.
(() => {
  "use strict";
  let dragged = null;

  const board = () => document.getElementById("board");

  function showMessage(card, message, missing) {
    const box = card.querySelector(".board-msg");
    if (!box) return;
    box.replaceChildren();
    const p = document.createElement("p");
    p.textContent = message;
    box.appendChild(p);
    if (missing && missing.length) {
      const ul = document.createElement("ul");
      for (const item of missing) {
        const li = document.createElement("li");
        li.textContent = item;
        ul.appendChild(li);
      }
      box.appendChild(ul);
    }
    box.hidden = false;
    card.classList.add("has-msg");
  }

  async function reloadBoard(query) {
    const url = window.location.pathname + (query ? "?" + query : "");
    const resp = await fetch(url, {headers: {"HX-Request": "true"}, credentials: "same-origin"});
    if (resp.ok) board().innerHTML = await resp.text();
  }

  async function move(card, column) {
    const root = card.closest("[data-board]");
    const stage = column.dataset.stage;
    let lostReason = "";
    if (column.dataset.kind === "lost") {
      lostReason = window.prompt(root.dataset.lostPrompt || "Why was the deal lost?") || "";
      if (!lostReason.trim()) return;
    }
    const body = new URLSearchParams({
      stage, version: card.dataset.version, lost_reason: lostReason,
      board_query: root.dataset.query || "",
    });
    card.classList.add("moving");
    let resp;
    try {
      resp = await fetch(card.dataset.moveUrl, {
        method: "POST", body, credentials: "same-origin",
        headers: {"Accept": "application/json", "X-CSRFToken": root.dataset.csrf},
      });
    } catch (err) {
      card.classList.remove("moving");
      showMessage(card, String(err));
      return;
    }
    card.classList.remove("moving");
    if (resp.ok) {
      board().innerHTML = await resp.text();
      const moved = document.getElementById(card.id);
      if (moved) moved.classList.add("just-moved");
      return;
    }
    let data = {};
    try { data = await resp.json(); } catch (err) { data = {message: resp.statusText}; }
    if (resp.status === 409) await reloadBoard(root.dataset.query);
    const again = document.getElementById(card.id) || card;
    showMessage(again, data.message || resp.statusText, data.missing);
  }

  document.addEventListener("dragstart", (e) => {
    const card = e.target.closest && e.target.closest(".board-card.movable");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.id);
  });
  document.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".board-col.drop-target").forEach((c) => c.classList.remove("drop-target"));
  });
  document.addEventListener("dragover", (e) => {
    const col = dragged && e.target.closest && e.target.closest(".board-col");
    if (!col) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    col.classList.add("drop-target");
  });
  document.addEventListener("dragleave", (e) => {
    const col = e.target.closest && e.target.closest(".board-col");
    if (col && !col.contains(e.relatedTarget)) col.classList.remove("drop-target");
  });
  document.addEventListener("drop", (e) => {
    const col = dragged && e.target.closest && e.target.closest(".board-col");
    if (!col) return;
    e.preventDefault();
    col.classList.remove("drop-target");
    const card = dragged;
    dragged = null;
    card.classList.remove("dragging");
    if (card.closest(".board-col") === col) return;
    move(card, col);
  });
  // The keyboard path: the card's "Move to" menu, sent the same way.
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form.card-move");
    if (!form) return;
    const card = form.closest(".board-card");
    const stage = form.querySelector("select[name=stage]").value;
    const col = document.querySelector(`.board-col[data-stage="${CSS.escape(stage)}"]`);
    if (!card || !col) return;
    e.preventDefault();
    if (card.closest(".board-col") === col) return;
    move(card, col);
  });
})();
