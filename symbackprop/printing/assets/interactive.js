// The interactive section of a symbackprop page: click a quantity for its panel; "step" walks the
// backward pass in the derivation's order, marking the arrows each step's gradient flows back along.
// Every panel's HTML is in the page's JSON data; KaTeX renders its math when it is shown.
(function () {
  "use strict";
  const root = document.getElementById("sbp-interactive");
  const data = JSON.parse(document.getElementById("sbp-data").textContent);
  const panel = root.querySelector(".sbp-panel");
  const status = root.querySelector(".sbp-status");
  const stepButton = root.querySelector(".sbp-step");
  let next = 0; // the index of the step the button shows next

  // The delimiters the page's own auto-render call uses.
  const delimiters = [
    {left: "$$", right: "$$", display: true},
    {left: "$", right: "$", display: false}
  ];

  function show(html) {
    panel.innerHTML = html;
    if (data.mathml) { // the panels' math is MathML already, which the browser renders by itself
      return;
    }
    if (typeof renderMathInElement === "function") {
      renderMathInElement(panel, {delimiters: delimiters, throwOnError: false});
    } else { // a page that links KaTeX, opened offline: the panel still works and shows the TeX
      const note = document.createElement("p");
      note.className = "sbp-nokatex";
      note.textContent = data.words.nokatex;
      panel.prepend(note);
    }
  }

  function unmark(name) {
    root.querySelectorAll("." + name).forEach(function (element) { element.classList.remove(name); });
  }

  function element(id) { return document.getElementById(id); }

  function select(quantity) {
    const node = data.nodes[quantity];
    if (!node) { return; }
    unmark("sbp-selected");
    element(node.id).classList.add("sbp-selected");
    show(node.html + node.steps.map(function (i) { return data.steps[i].html; }).join("\n"));
  }

  function fill(template, k) {
    return template.replace("{k}", String(k)).replace("{n}", String(data.steps.length));
  }

  function step() {
    if (next >= data.steps.length) { return; }
    const current = data.steps[next];
    // What the previous step marked stays marked as done: the gradient has passed there.
    root.querySelectorAll(".sbp-active").forEach(function (e) {
      e.classList.remove("sbp-active");
      e.classList.add("sbp-done");
    });
    current.edges.forEach(function (id) { element(id).classList.add("sbp-active"); });
    const target = data.nodes[current.target];
    if (target) { element(target.id).classList.add("sbp-active"); }
    unmark("sbp-selected");
    show(current.html);
    next += 1;
    status.textContent = next === data.steps.length ? data.words.done : fill(data.words.progress, next);
    stepButton.disabled = next === data.steps.length;
  }

  function reset() {
    next = 0;
    unmark("sbp-active");
    unmark("sbp-done");
    unmark("sbp-selected");
    stepButton.disabled = false;
    status.textContent = data.words.ready;
    panel.innerHTML = "";
  }

  root.querySelectorAll(".sbp-node").forEach(function (node) {
    node.addEventListener("click", function () { select(node.dataset.quantity); });
    node.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select(node.dataset.quantity);
      }
    });
  });
  stepButton.addEventListener("click", step);
  root.querySelector(".sbp-reset").addEventListener("click", reset);
})();
