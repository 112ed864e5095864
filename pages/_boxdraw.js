// Draw a box on an image with a finger, a pen or a mouse (pointer events), or tap/click a point.
//
// data: {src, mode: "box" | "point", alt, box: [x1, y1, x2, y2] | null,
//        boxes: [{box: [x1, y1, x2, y2], label, color}], cursor}
// Coordinates, in and out, are in the image's natural pixels (naturalWidth x naturalHeight).
// Box mode sets the state value `box` = {x1, y1, x2, y2, width, height} on release: the press and
// the release as they were (a release past the image's edge or above-left of the press is kept
// raw; the app sorts and clamps it and says so). Point mode sets the trigger `click` = {x, y, width, height}.
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function pct(v, total) {
  return `${(100 * v) / total}%`;
}

function sorted(b, w, h) {
  const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
  const [x1, y1, x2, y2] = b;
  return [
    clamp(Math.min(x1, x2), w),
    clamp(Math.min(y1, y2), h),
    clamp(Math.max(x1, x2), w),
    clamp(Math.max(y1, y2), h),
  ];
}

function drawRect(svg, b, w, h, cls, color, label) {
  const [x1, y1, x2, y2] = sorted(b, w, h);
  const geo = { x: pct(x1, w), y: pct(y1, h), width: pct(x2 - x1, w), height: pct(y2 - y1, h) };
  const g = el("g", { class: cls });
  if (cls === "student" || cls === "live") g.appendChild(el("rect", { ...geo, class: "halo" }));
  const line = el("rect", { ...geo, class: "line" });
  if (color) line.style.stroke = color;
  g.appendChild(line);
  if (label) {
    const text = el("text", { x: pct(x1, w), y: pct(y1, h), dx: 3, dy: -4, class: "label" });
    text.textContent = label;
    if (color) text.style.fill = color;
    g.appendChild(text);
  }
  svg.appendChild(g);
}

// Streamlit calls the default export again each time the app sends new data, on the same element,
// without calling the previous call's cleanup (that runs when the component is unmounted). So the
// listeners are installed once per element and read the latest call's data and callbacks from
// `root.__boxdraw`; the drag in progress lives there too, so a render that arrives in the middle of a
// drag (another run's result) neither drops the drag nor adds a second set of listeners.
export default function ({ data, parentElement, setStateValue, setTriggerValue }) {
  const root = parentElement.querySelector(".boxdraw");
  const img = root.querySelector("img");
  const svg = root.querySelector("svg");
  const d = data || {};
  const mode = d.mode === "point" ? "point" : "box";
  // pointer: the pointer drawing; live: the box being drawn [x1, y1, x2, y2] in natural pixels, raw
  // (kept after the release until the app's next render shows its box).
  const cur = root.__boxdraw || (root.__boxdraw = { pointer: null, live: null, stop: null });
  Object.assign(cur, { d, mode, setStateValue, setTriggerValue });
  if (cur.pointer === null) cur.live = null;
  root.dataset.mode = mode;
  if (d.cursor) root.style.cursor = d.cursor;
  img.alt = d.alt || "";
  if (img.getAttribute("src") !== d.src) img.setAttribute("src", d.src || "");

  const size = () => [img.naturalWidth || 1, img.naturalHeight || 1];

  function redraw() {
    const [w, h] = size();
    svg.replaceChildren();
    for (const b of cur.d.boxes || []) drawRect(svg, b.box, w, h, "shown", b.color, b.label);
    const mine = cur.live || cur.d.box;
    if (mine) drawRect(svg, mine, w, h, cur.live ? "live" : "student", null, cur.d.box_label || null);
    root.dataset.box = mine ? sorted(mine, w, h).map((v) => v.toFixed(1)).join(",") : "";
  }

  // Natural-pixel coordinates of a pointer event (the displayed image may be scaled either way).
  function at(e) {
    const r = img.getBoundingClientRect();
    const [w, h] = size();
    return [((e.clientX - r.left) * w) / r.width, ((e.clientY - r.top) * h) / r.height];
  }

  if (cur.stop === null) {
    cur.stop = new AbortController();
    const on = (type, fn) => root.addEventListener(type, fn, { signal: cur.stop.signal });
    img.addEventListener("load", redraw, { signal: cur.stop.signal });
    on("pointerdown", (e) => {
      if (cur.mode !== "box" || cur.pointer !== null || !e.isPrimary) return;
      if (e.pointerType === "mouse" && e.button !== 0) return;
      e.preventDefault();
      cur.pointer = e.pointerId;
      root.setPointerCapture(e.pointerId);
      const [x, y] = at(e);
      cur.live = [x, y, x, y];
      redraw();
    });
    on("pointermove", (e) => {
      if (e.pointerId !== cur.pointer) return;
      e.preventDefault();
      const [x, y] = at(e);
      cur.live = [cur.live[0], cur.live[1], x, y];
      redraw();
    });
    on("pointerup", (e) => {
      if (e.pointerId !== cur.pointer) return;
      const [x, y] = at(e);
      const [w, h] = size();
      const [x1, y1] = cur.live;
      cur.pointer = null;
      cur.live = [x1, y1, x, y];
      redraw();
      cur.setStateValue("box", { x1, y1, x2: x, y2: y, width: w, height: h });
    });
    // The browser took the gesture over (it should not, with touch-action: none): keep the old box.
    on("pointercancel", (e) => {
      if (e.pointerId !== cur.pointer) return;
      cur.pointer = null;
      cur.live = null;
      redraw();
    });
    on("click", (e) => {
      if (cur.mode !== "point") return;
      const [x, y] = at(e);
      const [w, h] = size();
      cur.setTriggerValue("click", { x, y, width: w, height: h });
    });
    root.addEventListener("dragstart", (e) => e.preventDefault(), { signal: cur.stop.signal });
  }
  if (img.complete) redraw();
  return () => {
    cur.stop?.abort();
    cur.stop = null;
    cur.pointer = null;
    cur.live = null;
  };
}
