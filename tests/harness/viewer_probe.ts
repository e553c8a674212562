/**
 * What the viewer page shows, read in headless Chromium: an <img> is drawn into a canvas and its
 * pixels hashed or sampled, and a snapshot of the same camera is decoded the same way, so a test
 * can tell which frame a tile is showing.
 */
import type { Page } from "./chromium.ts";

export interface ImgView {
  /** 0 while the <img> shows nothing. */
  width: number;
  height: number;
  /** Hash of the decoded pixels, null while nothing is shown. */
  hash: string | null;
  /** RGB of the centre pixel, null while nothing is shown. */
  center: [number, number, number] | null;
}

const HASH_FN = `async (img) => {
  if (!img || !img.complete || img.naturalWidth === 0) {
    return { width: 0, height: 0, hash: null, center: null };
  }
  const c = document.createElement("canvas");
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext("2d", { willReadFrequently: true });
  g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, c.width, c.height).data;
  const digest = await crypto.subtle.digest("SHA-256", px);
  const hash = Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
  const i = (Math.floor(c.height / 2) * c.width + Math.floor(c.width / 2)) * 4;
  return { width: c.width, height: c.height, hash, center: [px[i], px[i + 1], px[i + 2]] };
}`;

/** What the <img> matched by `selector` shows now. */
export function imgView(page: Page, selector: string): Promise<ImgView> {
  return page.evaluate<ImgView>(
    `(${HASH_FN})(document.querySelector(${JSON.stringify(selector)}))`,
  );
}

/** The <img> of a camera's tile on the viewer's grid. */
export function tileView(page: Page, camera: string): Promise<ImgView> {
  return imgView(page, `figure[data-camera=${JSON.stringify(camera)}] img`);
}

/** The same view of the camera's current snapshot, loaded by the page (with its credentials). */
export function snapshotView(page: Page, camera: string): Promise<ImgView> {
  return page.evaluate<ImgView>(`(async () => {
    const img = new Image();
    img.src = "/cameras/" + encodeURIComponent(${
    JSON.stringify(camera)
  }) + "/snapshot.jpg?t=" + Date.now();
    await img.decode();
    return (${HASH_FN})(img);
  })()`);
}

export function near(
  rgb: [number, number, number] | null,
  want: [number, number, number],
  tolerance = 16,
): boolean {
  return !!rgb && rgb.every((v, i) => Math.abs(v - want[i]) <= tolerance);
}
