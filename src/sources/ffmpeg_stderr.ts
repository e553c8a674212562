/** Reading ffmpeg's stderr: the input stream's facts and why a run failed. */

export interface StreamInfo {
  codec: string;
  width?: number;
  height?: number;
  /** Frame rate the stream declares (`25 fps`, else `25 tbr`). */
  fps?: number;
}

/** Parses one `Stream #0:0…: Video: …` line. */
export function parseStreamLine(line: string): StreamInfo | undefined {
  const m = /Stream #\d+:\d+.*?: Video: ([a-z0-9_]+)(.*)$/i.exec(line);
  if (!m) return undefined;
  const info: StreamInfo = { codec: m[1].toLowerCase() };
  const size = /[ ,](\d{2,5})x(\d{2,5})[ ,\[]/.exec(m[2] + " ");
  if (size) {
    info.width = Number(size[1]);
    info.height = Number(size[2]);
  }
  const fps = /([\d.]+)(k?) fps/.exec(m[2]) ?? /([\d.]+)(k?) tbr/.exec(m[2]);
  if (fps) info.fps = Number(fps[1]) * (fps[2] ? 1000 : 1);
  return info;
}

/** Follows ffmpeg's banner-less log: input stream facts come between `Input #0` and `Output #0`. */
export class FfmpegLogParser {
  #section: "none" | "input" | "output" = "none";
  input: StreamInfo | undefined;
  output: StreamInfo | undefined;
  /** Container format name from `Input #0, rtsp, from '…'`. */
  format: string | undefined;

  /** Returns true when the line told something new about the input stream. */
  feed(line: string): boolean {
    const input = /^Input #\d+, ([^,]+(?:,[^,]+)*?), from /.exec(line);
    if (input) {
      this.#section = "input";
      this.format = input[1];
      return false;
    }
    if (/^Output #\d+/.test(line) || /^Stream mapping:/.test(line)) {
      this.#section = "output";
      return false;
    }
    const info = parseStreamLine(line);
    if (!info) return false;
    if (this.#section === "input" && !this.input) {
      this.input = info;
      return true;
    }
    if (this.#section === "output" && !this.output) this.output = info;
    return false;
  }
}

export interface FailureReason {
  /** Short stable code: not_found, unauthorized, forbidden, refused, timeout, unreachable, … */
  code: string;
  message: string;
  /** The ffmpeg line that gave it away (already redacted). */
  line?: string;
}

const rules: { code: string; pattern: RegExp; message: string }[] = [
  {
    code: "unauthorized",
    pattern: /401 Unauthorized|authorization failed/i,
    message: "camera refused the credentials (401 Unauthorized): check user and password",
  },
  {
    code: "forbidden",
    pattern: /403 Forbidden/i,
    message: "access forbidden (403 Forbidden)",
  },
  {
    code: "not_found",
    pattern: /404 Not Found|454 Session Not Found/i,
    message: "stream path not found on the server (404 Not Found): check the URL path",
  },
  {
    code: "unsupported_transport",
    pattern: /461 Unsupported transport|Nonmatching transport/i,
    message: "the server does not support this RTSP transport: try --rtsp-transport udp",
  },
  {
    code: "unavailable",
    pattern: /503 Service Unavailable/i,
    message: "the server has no stream for us right now (503 Service Unavailable)",
  },
  {
    code: "refused",
    pattern: /Connection refused/i,
    message: "connection refused: nothing listens on that host and port",
  },
  {
    code: "unreachable",
    pattern:
      /No route to host|Network is unreachable|Name or service not known|Temporary failure in name resolution|Failed to resolve hostname/i,
    message: "host unreachable or unknown",
  },
  {
    code: "timeout",
    pattern: /timed out|Operation timed out/i,
    message: "connection timed out",
  },
  {
    code: "tls",
    pattern:
      /TLS (?:handshake|error|alert)|GnuTLS|SSL error|certificate (?:verify|is not trusted)/i,
    message: "TLS handshake failed",
  },
  {
    code: "no_device",
    pattern: /Cannot open video device .*No such file or directory/i,
    message: "video device not found: check the path (ls /dev/video*) and that the camera is " +
      "plugged in and enabled",
  },
  {
    code: "device_busy",
    pattern: /Device or resource busy/i,
    message: "video device busy: another program (rpicam-vid, a browser, another detector) is " +
      "using the camera",
  },
  {
    code: "no_ffmpeg",
    pattern: /failed to execute|cannot start ffmpeg/i,
    message: "ffmpeg could not be started: install ffmpeg or point FFMPEG at it",
  },
  {
    code: "no_such_file",
    pattern: /No such file or directory/i,
    message: "file not found",
  },
  {
    code: "no_video",
    pattern: /matches no streams|does not contain any stream/i,
    message: "the input has no video stream",
  },
  {
    code: "invalid_input",
    pattern:
      /Invalid data found when processing input|moov atom not found|could not find codec parameters|Error opening input|Invalid NAL unit size|error while decoding/i,
    message: "invalid or corrupt video input",
  },
  {
    code: "disconnected",
    pattern: /Connection reset|End of file|Broken pipe|Server returned 5(?:\d\d|XX)/i,
    message: "the server closed the stream",
  },
];

/** The first rule (in priority order) that any of the lines match. */
export function classifyFailure(lines: string[]): FailureReason | undefined {
  for (const rule of rules) {
    for (let i = lines.length - 1; i >= 0; i--) {
      if (rule.pattern.test(lines[i])) {
        return { code: rule.code, message: rule.message, line: lines[i] };
      }
    }
  }
  return undefined;
}
