import assert from "node:assert/strict";
import { runDetector, startDetector } from "../harness/detector.ts";
import { writeJpegFrames, writeJpegFramesNow } from "../harness/ffmpeg.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import { camera, metricSum, snapshot, within } from "./source_helpers.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "detector_dir_source_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("dir: FRAMES_DIR_ABS folder is created, ffmpeg's frames appear and seq grows", async () => {
  await withTempDir(async (tmp) => {
    const frames = `${tmp}/not/yet/there`;
    const det = await startDetector(["serve"], { FRAMES_DIR_ABS: frames, MAX_FRAME_AGE_S: "0" });
    let ffmpeg;
    try {
      assert.ok((await Deno.stat(frames)).isDirectory, "missing folder created at startup");
      assert.equal(await snapshot(det.url, "frames"), undefined, "503 before the first file");
      ffmpeg = writeJpegFrames({ dir: frames, rate: 10, size: "640x360" });
      const first = await eventually(
        async () => {
          const c = await camera(det.url, "frames");
          return c.seq >= 3 ? c : undefined;
        },
        "first frames from the folder",
        20_000,
      );
      assert.equal(first.state, "live");
      assert.equal(first.width, 640);
      assert.equal(first.height, 360);
      await eventually(
        async () => (await camera(det.url, "frames")).seq >= first.seq + 5,
        "seq to keep growing",
        20_000,
      );
      const jpeg = await snapshot(det.url, "frames");
      assert.ok(jpeg && jpeg[0] === 0xff && jpeg[1] === 0xd8, "snapshot is a JPEG");
    } finally {
      await ffmpeg?.stop();
      await det.stop();
    }
  });
});

Deno.test("dir: truncated and non-JPEG .jpg files are skipped, counted and logged; newest valid frame stays", async () => {
  await withTempDir(async (dir) => {
    const det = await startDetector(["serve", "--source", "cam=dir:" + dir]);
    try {
      await writeJpegFramesNow({ dir, frames: 3, pattern: "good_%03d.jpg" });
      const newestValid = await Deno.readFile(`${dir}/good_003.jpg`);
      await eventually(
        async () => {
          const s = await snapshot(det.url, "cam");
          return s !== undefined && s.length === newestValid.length &&
            s.every((b, i) => b === newestValid[i]);
        },
        "the newest valid file to be served",
      );
      const seqBefore = (await camera(det.url, "cam")).seq;

      await Deno.writeFile(`${dir}/zz_truncated.jpg`, newestValid.subarray(0, 2000));
      await eventually(
        async () => await metricSum(det.url, "detector_frames_rejected_total", "cam") >= 1,
        "the truncated file to be counted",
      );
      await Deno.writeTextFile(`${dir}/zz_not_a_jpeg.JPG`, "<html>this is no image</html>\n");
      await eventually(
        async () => await metricSum(det.url, "detector_frames_rejected_total", "cam") >= 2,
        "the non-JPEG file to be counted",
      );
      const cam = await camera(det.url, "cam");
      assert.equal(cam.seq, seqBefore, "no frame served from the bad files");
      assert.equal(cam.detail.skipped, 2, det.output());
      assert.equal(cam.state, "live");
      assert.deepEqual(await snapshot(det.url, "cam"), newestValid);
      assert.match(det.output(), /skipped file file=zz_truncated\.jpg reason=.*truncated/);
      assert.match(det.output(), /skipped file file=zz_not_a_jpeg\.JPG reason=.*not a valid JPEG/);

      const next = await solidJpeg(64, 48, [10, 200, 10]);
      await Deno.writeFile(`${dir}/zzz_next.jpeg`, next);
      await eventually(
        async () => (await camera(det.url, "cam")).seq > seqBefore,
        "a valid file after the bad ones to be served",
      ).catch(async (err) => {
        throw new Error(
          `${err.message}\n${JSON.stringify(await camera(det.url, "cam"))}\n${det.output()}`,
        );
      });
      assert.equal((await camera(det.url, "cam")).seq, seqBefore + 1, "served once");
      assert.deepEqual(await snapshot(det.url, "cam"), next);
    } finally {
      await det.stop();
    }
  });
});

Deno.test("dir: serves the newest existing file at startup and deletes files older than the max age", async () => {
  await withTempDir(async (dir) => {
    const now = Date.now() / 1000;
    const ages = { "a.jpg": 30, "b.jpg": 10, "c.jpg": 20 };
    const files: Record<string, Uint8Array> = {};
    let shade = 40;
    for (const [name, age] of Object.entries(ages)) {
      files[name] = await solidJpeg(32, 32, [shade += 60, 0, 0]);
      await Deno.writeFile(`${dir}/${name}`, files[name]);
      await Deno.utime(`${dir}/${name}`, now - age, now - age);
    }
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a frame, never deleted");
    await Deno.utime(`${dir}/notes.txt`, now - 3600, now - 3600);

    const det = await startDetector([
      "serve",
      "--source",
      `cam=dir:${dir}`,
      "--max-frame-age",
      "5",
    ]);
    try {
      const first = await eventually(() => snapshot(det.url, "cam"), "a frame at startup");
      assert.deepEqual(first, files["b.jpg"], "the newest file by modification time is served");
      await eventually(async () => {
        const left = [];
        for await (const e of Deno.readDir(dir)) left.push(e.name);
        return left.length === 1 && left[0] === "notes.txt";
      }, "JPEG files older than 5 s to be deleted");
      assert.ok(await metricSum(det.url, "detector_dir_files_deleted_total", "cam") >= 3);
      assert.deepEqual(await snapshot(det.url, "cam"), files["b.jpg"], "still served from memory");
      const fresh = await solidJpeg(32, 32, [0, 0, 250]);
      await Deno.writeFile(`${dir}/fresh.jpg`, fresh);
      await eventually(async () => {
        const s = await snapshot(det.url, "cam");
        return s?.length === fresh.length && s.every((b, i) => b === fresh[i]);
      }, "a new file to be served");
      assert.ok((await Deno.stat(`${dir}/fresh.jpg`)).isFile, "a young file is kept");

      const renamed = await solidJpeg(32, 32, [0, 250, 250]);
      await Deno.writeFile(`${dir}/next.part`, renamed);
      await Deno.rename(`${dir}/next.part`, `${dir}/next.jpg`);
      await eventually(async () => {
        const s = await snapshot(det.url, "cam");
        return s?.length === renamed.length && s.every((b, i) => b === renamed[i]);
      }, "a file renamed into place to be served");
    } finally {
      await det.stop();
    }
  });
});

Deno.test("dir: a path that exists but is not a folder stops serve with a message naming it", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/frames.jpg`;
    await Deno.writeTextFile(file, "a file, not a folder");
    const child = runDetector(["serve", "--source", `cam=dir:${file}`, "--port", "0"]);
    try {
      const done = await within(child.status, 30_000, "serve to exit on its own");
      assert.notEqual(done.code, 0);
      assert.ok(child.output().includes(`${file} exists but is not a folder`), child.output());
      assert.doesNotMatch(child.output(), /listening on/);
    } finally {
      await child.stop();
    }
  });
});

Deno.test("dir: files already in the folder survive a start without a maximum age; with #max-age= they go and the log says so", async () => {
  await withTempDir(async (dir) => {
    const now = Date.now() / 1000;
    for (const name of ["old1.jpg", "old2.jpg"]) {
      await Deno.writeFile(`${dir}/${name}`, await solidJpeg(32, 32, [200, 0, 0]));
      await Deno.utime(`${dir}/${name}`, now - 3600, now - 3600);
    }
    const names = async () => {
      const out: string[] = [];
      for await (const e of Deno.readDir(dir)) out.push(e.name);
      return out.sort();
    };
    const keep = await startDetector(["serve", "--source", `cam=dir:${dir}`], {
      MAX_FRAME_AGE_S: "",
    });
    try {
      await eventually(() => snapshot(keep.url, "cam"), "an hour-old file served");
      await keep.waitFor(/never deleted/, 5000);
      // the folder is checked every 2 s; three checks go by
      await new Promise((r) => setTimeout(r, 6500));
      assert.deepEqual(await names(), ["old1.jpg", "old2.jpg"], "pre-existing files survive");
      assert.equal(await metricSum(keep.url, "detector_dir_files_deleted_total", "cam"), 0);
    } finally {
      await keep.stop();
    }
    const sweep = await startDetector(["serve", "--source", `cam=dir:${dir}#max-age=60`]);
    try {
      await sweep.waitFor(/deleting JPEG files older than 60 s in .*files already there/, 5000);
      await eventually(async () => (await names()).length === 0, "old files deleted", 20_000);
      await sweep.waitFor(/deleted 2 JPEG files older than 60 s/, 5000);
    } finally {
      await sweep.stop();
    }
  });
});

Deno.test("dir: a FIFO is never opened, a growing file is warned about once; serve still serves and stops", async () => {
  await withTempDir(async (dir) => {
    const det = await startDetector(["serve", "--source", `cam=dir:${dir}`]);
    try {
      const mk = await new Deno.Command("mkfifo", { args: [`${dir}/pipe.jpg`] }).output();
      assert.ok(mk.success, "mkfifo");
      await det.waitFor(/skipped file file=pipe\.jpg reason="?not a regular file/, 10_000);
      const good = await solidJpeg(48, 32, [0, 200, 0]);
      await Deno.writeFile(`${dir}/good.jpg`, good);
      await eventually(async () => {
        const s = await snapshot(det.url, "cam");
        return s?.length === good.length;
      }, "a regular JPEG after the FIFO to be served");

      // a file that keeps growing and never ends with EOI
      const partial = good.subarray(0, good.length - 2);
      await Deno.writeFile(`${dir}/growing.jpg`, partial);
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 150));
        await Deno.writeFile(`${dir}/growing.jpg`, new Uint8Array(100), { append: true });
      }
      // keeps growing until the folder has seen it fail several times (a watcher may coalesce)
      await eventually(
        async () => {
          await Deno.writeFile(`${dir}/growing.jpg`, new Uint8Array(100), { append: true });
          return await metricSum(det.url, "detector_frames_rejected_total", "cam") >= 3;
        },
        "the growing file counted more than once",
        30_000,
        400,
      );
      const warnings = det.output().split("\n").filter((l) =>
        /WARN/.test(l) && l.includes("growing.jpg")
      );
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.deepEqual(await snapshot(det.url, "cam"), good);
    } finally {
      det.proc.kill("SIGTERM");
      const status = await Promise.race([
        det.status,
        new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
      ]);
      assert.ok(
        status !== null,
        `serve exits after SIGTERM with a FIFO in the folder\n${det.output()}`,
      );
      await det.stop();
    }
  });
});
