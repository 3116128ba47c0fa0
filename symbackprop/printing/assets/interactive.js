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

  // The practice mode: a box of the backward pass shows its step without numbers until it is answered.
  const practice = data.practice || null;
  const answered = {};

  function asked(i) { return practice !== null && practice.boxes[String(i)] !== undefined && !answered[i]; }

  // a step the abridged graph does not draw has no panel of its own: one note, numbered, stands for it
  function ownPanel(i) { return data.steps[i].html !== null ? data.steps[i].html : fill(data.words.omitted, i + 1); }

  function stepPanel(i) { return asked(i) ? practice.hidden.steps[String(i)] : ownPanel(i); }

  function select(quantity) {
    const node = data.nodes[quantity];
    if (!node) { return; }
    unmark("sbp-selected");
    element(node.id).classList.add("sbp-selected");
    const open = node.steps.every(function (i) { return !asked(i); });
    const own = open || practice === null ? node.html : practice.hidden.nodes[quantity];
    show(own + node.steps.map(stepPanel).join("\n"));
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
    next += 1;
    status.textContent = next === data.steps.length ? data.words.done : fill(data.words.progress, next);
    stepButton.disabled = next === data.steps.length;
    if (asked(current.index)) {
      ask(current.index);
    } else {
      show(ownPanel(current.index));
    }
  }

  function ask(i) {
    const box = practice.boxes[String(i)];
    const words = practice.words;
    show(practice.hidden.steps[String(i)]);
    const form = document.createElement("div");
    form.className = "sbp-practice";
    form.innerHTML = '<label></label> <input class="sbp-answer" type="text" autocomplete="off"> ' +
      '<button type="button" class="sbp-check"></button> <button type="button" class="sbp-reveal"></button>' +
      '<p class="sbp-verdict" aria-live="polite"></p>';
    form.querySelector("label").textContent = box.prompt;
    form.querySelector(".sbp-check").textContent = words.check;
    form.querySelector(".sbp-reveal").textContent = words.reveal;
    panel.prepend(form);
    const input = form.querySelector(".sbp-answer");
    const verdict = form.querySelector(".sbp-verdict");
    stepButton.disabled = true;
    status.textContent = words.waiting;

    function open(line, kind) {
      answered[i] = true;
      show(ownPanel(i));
      const note = document.createElement("p");
      note.className = "sbp-verdict sbp-verdict-" + kind;
      note.textContent = line;
      panel.prepend(note);
      stepButton.disabled = next === data.steps.length;
      status.textContent = next === data.steps.length ? data.words.done : fill(data.words.progress, next);
    }

    function check() {
      const result = judge(box, input.value);
      const line = words["verdict." + result.verdict] + (result.code ? " (" + result.code + ")" : "") +
        ": " + result.hint;
      if (result.verdict === "correct" || result.verdict === "rounded") {
        open(line, result.verdict);
      } else {
        verdict.className = "sbp-verdict sbp-verdict-" + result.verdict;
        verdict.textContent = line;
      }
    }

    form.querySelector(".sbp-check").addEventListener("click", check);
    input.addEventListener("keydown", function (event) { if (event.key === "Enter") { check(); } });
    form.querySelector(".sbp-reveal").addEventListener("click", function () { open("", "revealed"); });
    input.focus();
  }

  // The grader's rule on numbers: right within floating point, right to the decimals typed, or the
  // first known mistake whose numbers match (a little more loosely: the student rounded them).
  function judge(box, text) {
    const words = practice.words;
    const tokens = text.replace(/\u2212/g, "-").match(/[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/gi) || [];
    if (tokens.length === 0) {
      return {verdict: "unreadable", code: null, hint: words.unreadable.replace("{reason}", words.empty)};
    }
    if (tokens.length !== box.expected.length) {
      return {verdict: "wrong", code: "shape", hint: box.shape.replace("{given}", String(tokens.length))};
    }
    const given = tokens.map(Number);
    const places = tokens.map(function (t) {
      if (/e/i.test(t) || t.indexOf(".") < 0) { return Infinity; }
      return t.split(".")[1].length;
    });
    const close = function (values) {
      return values.every(function (v, k) { return Math.abs(given[k] - v) <= 1e-9 + 1e-6 * Math.abs(v); });
    };
    const within = function (values, unit) {
      return values.every(function (v, k) {
        const half = isFinite(places[k]) ? unit * Math.pow(10, -places[k]) : 0;
        return Math.abs(given[k] - v) <= half * (1 + 1e-9) + 1e-9 + 1e-6 * Math.abs(v);
      });
    };
    if (close(box.expected)) { return {verdict: "correct", code: null, hint: words.correct}; }
    if (within(box.expected, 0.5)) {
      const shown = Math.max.apply(null, places.filter(isFinite));
      return {verdict: "rounded", code: null, hint: words.rounded.replace("{places}", String(shown))};
    }
    for (const mistake of box.mistakes) {
      if (close(mistake.values) || within(mistake.values, 1)) {
        return {verdict: "wrong", code: mistake.code, hint: mistake.hint};
      }
    }
    return {verdict: "wrong", code: null, hint: box.wrong};
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
