// Grade entry: Enter and the arrow keys move between cells like a spreadsheet.
document.addEventListener("keydown", function (event) {
  const cell = event.target;
  if (!cell.classList || !cell.classList.contains("cell")) return;
  const row = cell.closest("tr");
  const index = Array.from(row.querySelectorAll("input.cell")).indexOf(cell);
  let target = null;
  if (event.key === "Enter" || event.key === "ArrowDown") {
    const next = row.nextElementSibling;
    target = next && next.querySelectorAll("input.cell")[index];
  } else if (event.key === "ArrowUp") {
    const previous = row.previousElementSibling;
    target = previous && previous.querySelectorAll("input.cell")[index];
  } else if (event.key === "ArrowRight" && cell.selectionStart === cell.value.length) {
    target = row.querySelectorAll("input.cell")[index + 1];
  } else if (event.key === "ArrowLeft" && cell.selectionStart === 0) {
    target = row.querySelectorAll("input.cell")[index - 1];
  }
  if (event.key === "Enter") event.preventDefault();  // never submit the whole form by accident
  if (target) {
    event.preventDefault();
    target.focus();  // leaving the cell fires its change event, which saves it
    target.select();
  } else if (event.key === "Enter") {
    cell.dispatchEvent(new Event("change", { bubbles: true }));
  }
});
document.body.addEventListener("htmx:configRequest", function (event) {
  const token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (token) event.detail.headers["X-CSRFToken"] = token.value;
});
