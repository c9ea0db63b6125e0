// Copy buttons: <button data-copy="#id"> copies the text of the element it names. The page
// works without this script; the values stay selectable.
document.addEventListener("click", (e) => {
  const b = e.target.closest("button[data-copy]");
  if (!b) return;
  const el = document.querySelector(b.dataset.copy);
  if (!el || !navigator.clipboard) return;
  navigator.clipboard.writeText(el.textContent.trim()).then(() => {
    b.textContent = "Copied";
    setTimeout(() => (b.textContent = "Copy"), 1500);
  });
});

// Workbench: choosing a row's action selects the row (the checkbox still decides what is saved).
document.addEventListener("change", (e) => {
  const s = e.target.closest("select[name^='action:']");
  if (!s || !s.value) return;
  const box = s.closest("tr")?.querySelector("input[name='select']");
  if (box) box.checked = true;
});
