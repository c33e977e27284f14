// Small page behaviours, declared in templates with data attributes instead of inline script, so the
// Content-Security-Policy can refuse every inline script and style. Listeners sit on the document, so they
// also work on content htmx swaps in later.
(() => {
  // <select data-autosubmit>: choosing an option submits its form (language switch, customer pickers).
  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit();
  });

  // <form data-confirm="question">: ask before submitting.
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    // <button data-copy-target="#id" data-copied="Copied">: copy that field's value, then say so.
    const copy = event.target.closest("[data-copy-target]");
    if (copy) {
      const field = document.querySelector(copy.dataset.copyTarget);
      if (field) navigator.clipboard.writeText(field.value).then(() => { copy.textContent = copy.dataset.copied; });
    }
    // <input type=checkbox data-check-all="selector">: tick or untick every checkbox the selector finds.
    const all = event.target.closest("input[type=checkbox][data-check-all]");
    if (all) document.querySelectorAll(all.dataset.checkAll).forEach((box) => { box.checked = all.checked; });
  });

  // Sizes that depend on data are set through the CSSOM (which the CSP allows), not style attributes:
  // data-progress="42" → width 42%, data-indent="2" → indented by 2 em. htmx fires htmx:load for the
  // body once the page is ready, and again for every element it swaps in (progress bars that poll).
  document.addEventListener("htmx:load", (event) => {
    const root = event.target;
    [root, ...root.querySelectorAll("[data-progress], [data-indent]")].forEach((el) => {
      if (el.dataset.progress !== undefined) el.style.width = `${Number(el.dataset.progress) || 0}%`;
      if (el.dataset.indent !== undefined) el.style.paddingLeft = `${Number(el.dataset.indent) || 0}em`;
    });
  });
})();
