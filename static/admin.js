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
