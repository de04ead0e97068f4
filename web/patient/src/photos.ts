// Photos: the five views the valuation needs, each taken with the camera or chosen from the gallery, sent one
// by one with progress, and the list of what is still missing. The server keeps what arrived, so a dropped
// connection costs only the photo in flight; reopening the link shows what is left (docs/quotes.md).
import { ApiError, call, fieldError, h, type Key, langPicker, setError, show, start, t, token } from "./common";

interface PhotoView {
  name: string | null;
  received: string[];
  missing: string[];
  complete: boolean;
  locale: string | null;
}

const URL_ = "/public/funnel/photos";
const SLOTS = ["front", "top", "crown", "left", "right"] as const;
const MAX_BYTES = 8 * 1024 * 1024;
/** A bigger photo is scaled down on the phone before it is sent (the server takes at most 8 MB). */
const MAX_SIDE = 3000;
const tok = token();
let view: PhotoView;

const slotName = (slot: string) => t(`slot_${slot}` as Key);

/** A camera photo over the server's limit, re-encoded as JPEG at most MAX_SIDE px wide; formats the browser
 *  cannot draw (HEIC on most phones' browsers) go as they are, and the server says if they are too big. */
async function fitted(file: File): Promise<Blob> {
  if (file.size <= MAX_BYTES) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d")?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((done) => canvas.toBlob(done, "image/jpeg", 0.88));
    return blob && blob.size <= MAX_BYTES ? blob : file;
  } catch {
    return file;
  }
}

/** PUT the photo with upload progress (fetch cannot report it); resolves with the page's new state. */
function upload(slot: string, body: Blob, progress: (pct: number) => void): Promise<PhotoView> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `${URL_}/${encodeURIComponent(slot)}?token=${encodeURIComponent(tok)}`);
    xhr.setRequestHeader("accept", "application/json");
    xhr.setRequestHeader("content-type", body.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => e.lengthComputable && progress(Math.round((100 * e.loaded) / e.total));
    xhr.onerror = () => reject(new TypeError("offline"));
    xhr.onload = () => {
      let answer: any = null;
      try {
        answer = JSON.parse(xhr.responseText);
      } catch {
        answer = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(answer as PhotoView);
      reject(
        new ApiError({
          status: xhr.status,
          detail: answer?.detail ?? t("error_generic"),
          field: answer?.errors?.[0]?.field ?? null,
          fields: {},
          slug: null,
        }),
      );
    };
    xhr.send(body);
  });
}

async function choose(slot: string, input: HTMLInputElement) {
  const file = input.files?.[0];
  input.value = "";
  if (!file) return;
  const error = document.getElementById(`${slot}-error`);
  const bar = document.getElementById(`${slot}-progress`) as HTMLProgressElement | null;
  const status = document.getElementById(`${slot}-status`);
  setError(error, null);
  input.disabled = true;
  const body = await fitted(file);
  if (body.size > MAX_BYTES) {
    input.disabled = false;
    return setError(error, t("photo_too_big"));
  }
  if (bar) {
    bar.hidden = false;
    bar.value = 0;
  }
  try {
    view = await upload(slot, body, (pct) => {
      if (bar) bar.value = pct;
      if (status) status.textContent = t("photo_uploading", { pct });
    });
    render();
  } catch (e) {
    input.disabled = false;
    if (bar) bar.hidden = true;
    if (status) status.textContent = t("photo_missing");
    setError(error, e instanceof ApiError ? e.problem.detail : t("offline"));
  }
}

function slotRow(slot: string): HTMLElement {
  const have = view.received.includes(slot);
  const id = `photo-${slot}`;
  const input = h("input", { type: "file", id, accept: "image/jpeg,image/png,image/webp,image/heic,image/heif", class: "file" }) as HTMLInputElement;
  input.addEventListener("change", () => void choose(slot, input));
  return h(
    "li",
    { class: `photo${have ? " done" : ""}`, "data-slot": slot },
    h("span", { class: "what" }, slotName(slot)),
    h("span", { id: `${slot}-status`, class: have ? "ok" : "muted", role: "status" }, have ? t("photo_received") : t("photo_missing")),
    // The label is the button: on a phone it offers the camera or the gallery.
    view.complete ? null : h("label", { for: id, class: "button" + (have ? "" : " primary") }, have ? t("photo_replace") : t("photo_choose"), input),
    h("progress", { id: `${slot}-progress`, max: 100, value: 0, hidden: true, "aria-label": slotName(slot) }),
    fieldError(`${slot}-error`, null),
  );
}

function render() {
  const missing = SLOTS.filter((s) => view.missing.includes(s));
  show(
    langPicker(render),
    h("h1", {}, t("photos_title")),
    view.name ? h("p", {}, t("hello", { name: view.name })) : null,
    h("p", {}, t("photos_intro")),
    h("p", { class: "muted" }, t("photos_tips")),
    h("ul", { class: "photos", "aria-label": t("photos_title") }, ...SLOTS.map(slotRow)),
    view.complete
      ? h("p", { class: "ok", id: "complete", role: "status" }, t("photos_done"))
      : h("p", { id: "missing" }, t("photos_missing", { list: missing.map(slotName).join(", ") })),
  );
}

void start(
  () => call<PhotoView>(URL_, { query: { token: tok } }),
  (v) => {
    view = v;
    render();
  },
  (v) => v.locale,
);
