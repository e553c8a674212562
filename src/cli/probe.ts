/**
 * `detector probe SPEC`: what a source delivers — codec, size and frame rate (ffprobe, for video
 * sources), the first frame's latency and the delivered fps through the real source — and one
 * saved frame. The first thing to run when a camera does not work.
 */
import type { Command } from "commander";
import { FrameCache } from "../core/mod.ts";
import { errorMessage } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";
import { isFfmpegSpec, parseFfmpegSpec } from "../sources/mod.ts";
import { ffprobePath, spawnTracked, stopAllChildren } from "../sources/mod.ts";
import { classifyFailure } from "../sources/mod.ts";
import { createSource } from "../sources/mod.ts";
import { StderrRing, urlSecrets } from "../sources/mod.ts";
import { commandSettings } from "../config/mod.ts";
import { ffmpegKeys, ffmpegSourceOptions } from "./ffmpeg_options.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";

export interface ProbeStream {
  codec: string | null;
  profile: string | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  pixFmt: string | null;
  format: string | null;
}

export interface ProbeReport {
  source: string;
  ok: boolean;
  stream?: ProbeStream;
  ffprobeError?: string;
  firstFrameMs?: number;
  frame?: { width: number | null; height: number | null; bytes: number };
  frames?: number;
  seconds?: number;
  deliveredFps?: number;
  saved?: string;
  error?: string;
  reason?: string;
  stderr?: string[];
}

export interface ProbeOptions {
  spec: string;
  output?: string;
  timeoutMs: number;
  measureMs: number;
  rtspTransport?: string;
  stallTimeoutMs?: number;
  /** ffmpeg sources: how long the first frame may take (default: `timeoutMs`). */
  firstFrameTimeoutMs?: number;
  jpegQuality?: number;
  /** Also ask ffprobe (profile, pixel format, container) even when the source told the basics. */
  ffprobe?: boolean;
}

function rate(raw: unknown): number | null {
  const m = /^(\d+)\/(\d+)$/.exec(String(raw ?? ""));
  if (!m || Number(m[2]) === 0 || Number(m[1]) === 0) return null;
  return Math.round(Number(m[1]) / Number(m[2]) * 100) / 100;
}

/** Runs ffprobe on a video spec; resolves with the first video stream or an error line. */
export async function ffprobeStream(
  spec: string,
  opts: { timeoutMs: number; rtspTransport?: string },
): Promise<{ stream?: ProbeStream; error?: string; stderr: string[] }> {
  const s = parseFfmpegSpec(spec, { timeoutMs: opts.timeoutMs, rtspTransport: opts.rtspTransport });
  const us = String(Math.round(opts.timeoutMs * 1000));
  const args = ["-hide_banner", "-v", "error", "-analyzeduration", "2000000"];
  if (s.kind === "rtsp") args.push("-rtsp_transport", s.rtspTransport, "-timeout", us);
  if (s.kind === "http") args.push("-rw_timeout", us);
  args.push(
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,profile,width,height,avg_frame_rate,r_frame_rate,pix_fmt:format=format_name",
    "-of",
    "json",
    s.input,
  );
  const child = spawnTracked(ffprobePath(), args, "ffprobe");
  const ring = new StderrRing(32, 400, urlSecrets(spec));
  const timer = setTimeout(() => void child.stop(1000), opts.timeoutMs);
  const [out] = await Promise.all([
    new Response(child.stdout).text(),
    (async () => {
      for await (const chunk of child.stderr) ring.push(chunk);
      ring.flush();
    })(),
  ]);
  const status = await child.status;
  clearTimeout(timer);
  const stderr = ring.tail(8);
  if (!status.success) {
    const reason = classifyFailure(ring.tail());
    const error = status.signal
      ? `ffprobe got no answer within ${opts.timeoutMs / 1000} s`
      : reason?.message ?? stderr.at(-1) ?? `ffprobe exit code ${status.code}`;
    return { error, stderr };
  }
  try {
    const j = JSON.parse(out);
    const st = j.streams?.[0];
    if (!st) return { error: "the input has no video stream", stderr };
    return {
      stream: {
        codec: st.codec_name ?? null,
        profile: st.profile ?? null,
        width: st.width ?? null,
        height: st.height ?? null,
        fps: rate(st.avg_frame_rate) ?? rate(st.r_frame_rate),
        pixFmt: st.pix_fmt ?? null,
        format: j.format?.format_name ?? null,
      },
      stderr,
    };
  } catch (err) {
    return { error: `ffprobe output unreadable: ${errorMessage(err)}`, stderr };
  }
}

export async function probe(opts: ProbeOptions): Promise<ProbeReport> {
  const report: ProbeReport = { source: redactUrl(opts.spec), ok: false };
  const video = isFfmpegSpec(opts.spec);

  const cache = new FrameCache();
  const camera = "probe";
  const started = performance.now();
  const firstFrameMs = opts.firstFrameTimeoutMs ?? opts.timeoutMs;
  const source = createSource(camera, opts.spec, cache, {
    maxRetries: 0,
    timeoutMs: opts.timeoutMs,
    stallTimeoutMs: opts.stallTimeoutMs ?? opts.timeoutMs,
    firstFrameTimeoutMs: firstFrameMs,
    rtspTransport: opts.rtspTransport,
    jpegQuality: opts.jpegQuality,
  });
  source.start();
  try {
    const first = await new Promise<boolean>((resolve) => {
      const deadline = setTimeout(() => done(false), firstFrameMs + 2000);
      const poll = setInterval(() => {
        if (source.status().state === "stopped") done(false);
      }, 50);
      const unsubscribe = cache.subscribe(() => done(true));
      function done(ok: boolean) {
        clearTimeout(deadline);
        clearInterval(poll);
        unsubscribe();
        resolve(ok);
      }
    });
    if (first) {
      const frame = cache.latest(camera)!;
      report.firstFrameMs = Math.round(performance.now() - started);
      report.frame = {
        width: frame.width ?? null,
        height: frame.height ?? null,
        bytes: frame.jpeg.byteLength,
      };
      if (opts.output) {
        await Deno.writeFile(opts.output, frame.jpeg);
        report.saved = opts.output;
      }
      const seq0 = frame.seq;
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, opts.measureMs));
      const frames = (cache.latest(camera)?.seq ?? seq0) - seq0;
      const seconds = (performance.now() - t0) / 1000;
      report.frames = frames;
      report.seconds = Math.round(seconds * 100) / 100;
      report.deliveredFps = Math.round(frames / seconds * 100) / 100;
      report.ok = true;
    } else {
      const st = source.status();
      report.error = st.lastError?.replace(/^gave up after \d+ retries: /, "") ??
        `no frame within ${(firstFrameMs + 2000) / 1000} s (state ${st.state})`;
      const detail = st.detail ?? {};
      if (typeof detail.reason === "string") report.reason = detail.reason;
      if (Array.isArray(detail.stderr)) report.stderr = detail.stderr as string[];
    }
    const input = source.status().detail?.input as Partial<ProbeStream> | null | undefined;
    if (input?.codec) {
      report.stream = {
        codec: input.codec,
        profile: null,
        width: input.width ?? null,
        height: input.height ?? null,
        fps: input.fps ?? null,
        pixFmt: null,
        format: null,
      };
    }
  } finally {
    await source.stop();
  }
  // ffprobe after the source, never beside it: many cameras allow only one or two sessions.
  if (video && (opts.ffprobe || !report.stream)) {
    const p = await ffprobeStream(opts.spec, {
      timeoutMs: opts.timeoutMs,
      rtspTransport: opts.rtspTransport,
    });
    if (p.stream) report.stream = p.stream;
    if (p.error) report.ffprobeError = p.error;
    if (!report.ok && !report.stderr?.length) report.stderr = p.stderr;
  }
  await stopAllChildren(1000);
  return report;
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

export function formatProbe(r: ProbeReport): string {
  const lines = [`source     ${r.source}`];
  if (r.stream) {
    const s = r.stream;
    const size = s.width && s.height ? `${s.width}x${s.height}` : "size unknown";
    const fps = s.fps ? `${s.fps} fps` : "fps unknown";
    const extra = [s.profile, s.pixFmt, s.format].filter(Boolean).join(", ");
    lines.push(`stream     ${s.codec ?? "?"} ${size} ${fps}${extra ? ` (${extra})` : ""}`);
  } else if (r.ffprobeError) {
    lines.push(`stream     ffprobe: ${r.ffprobeError}`);
  }
  if (r.ok && r.frame) {
    const size = r.frame.width ? `${r.frame.width}x${r.frame.height}` : "?";
    lines.push(
      `first      frame after ${(r.firstFrameMs! / 1000).toFixed(2)} s (${size} JPEG, ${
        kib(r.frame.bytes)
      })`,
    );
    lines.push(`delivered  ${r.deliveredFps} fps (${r.frames} frames in ${r.seconds} s)`);
    if (r.saved) lines.push(`saved      ${r.saved}`);
  }
  if (!r.ok) {
    lines.push(`error      ${r.error ?? "no frame"}`);
    for (const l of r.stderr ?? []) lines.push(`  ffmpeg | ${l}`);
  }
  return lines.join("\n");
}

const probeSettings = commandSettings(["probeTimeout", "measure", ...ffmpegKeys]);

export function registerProbe(program: Command): void {
  const cmd = program.command("probe")
    .description(
      "Open a source once and report what it delivers: codec, size, fps, first-frame latency; " +
        "save one frame.",
    )
    .argument("<SPEC>", "any --source SPEC: rtsp://user:pass@cam/stream, a video file, …")
    .option("-o, --output <file.jpg>", "save the first frame here")
    .option("--json", "print the report as JSON")
    .option("--ffprobe", "also run ffprobe for profile, pixel format and container")
    .addHelpText(
      "after",
      `
Exit code 0 when a frame arrived, 1 when not (the reason is printed), 2 for bad arguments.

Examples:
  detector probe rtsp://admin:secret@192.168.1.20:554/stream1 -o frame.jpg
  detector probe --rtsp-transport udp rtsp://cam.local/live
  detector probe ./clip.mp4 --json`,
    );
  addSettingOptions(cmd, probeSettings);
  cmd.action(async (spec: string, o, self: Command) => {
    const { values: v, origins } = resolveCommand(self, probeSettings);
    const ff = ffmpegSourceOptions(v);
    const report = await probe({
      spec,
      output: o.output,
      timeoutMs: v.probeTimeout,
      measureMs: v.measure,
      rtspTransport: ff.rtspTransport,
      // Unless given, a probe waits for a stalled source as long as for the first frame.
      stallTimeoutMs: origins.stallTimeout === "default" ? v.probeTimeout : ff.stallTimeoutMs,
      firstFrameTimeoutMs: ff.firstFrameTimeoutMs,
      jpegQuality: ff.jpegQuality,
      ffprobe: o.ffprobe,
    });
    console.log(o.json ? JSON.stringify(report, null, 2) : formatProbe(report));
    if (!report.ok) Deno.exit(1);
  });
}
