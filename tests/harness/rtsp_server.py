#!/usr/bin/env python3
"""A real RTSP server for tests and benchmarks: GStreamer's gst-rtsp-server streaming a video file.

Usage: rtsp_server.py --port N --file video.mp4|.ts|.mkv [--mount /test] [--user U --password P]
                      [--auth basic|digest] [--encoding h264|h265|mjpeg] [--audio] [--shared]
                      [--report-sends]

Prints `READY rtsp://127.0.0.1:N/mount` once it accepts clients. Frames leave in real time
(`identity sync=true`); with --report-sends it prints `SENT <pts_ms> <epoch_ms>` for every video
frame as it is handed to the RTP payloader, so a client can compute end-to-end latency.
--audio also streams the file's AAC track (a second RTP stream).
"""
import argparse
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--mount", default="/test")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--auth", choices=["basic", "digest"], default="basic")
    p.add_argument("--encoding", choices=["h264", "h265", "mjpeg"], default="h264")
    p.add_argument("--audio", action="store_true")
    p.add_argument("--shared", action="store_true", help="one pipeline for all clients (live)")
    p.add_argument("--report-sends", action="store_true")
    a = p.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))

    location = a.file.replace("\\", "\\\\").replace('"', '\\"')
    video = {
        "h264": "video/x-h264 ! queue ! h264parse config-interval=-1 ! identity sync=true ! "
        "rtph264pay name=pay0 pt=96 config-interval=1",
        "h265": "video/x-h265 ! queue ! h265parse config-interval=-1 ! identity sync=true ! "
        "rtph265pay name=pay0 pt=96 config-interval=1",
        "mjpeg": "image/jpeg ! queue ! jpegparse ! identity sync=true ! rtpjpegpay name=pay0 pt=26",
    }[a.encoding]
    demux = {"ts": "tsdemux", "mkv": "matroskademux"}.get(a.file.rsplit(".", 1)[-1], "qtdemux")
    launch = f'( filesrc location="{location}" ! {demux} name=d  d. ! {video}'
    if a.audio:
        launch += "  d. ! audio/mpeg ! queue ! aacparse ! identity sync=true ! rtpmp4gpay name=pay1 pt=97"
    launch += " )"

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    # One pipeline per client: a shared media that is torn down while a new client arrives can
    # stay in a state where every DESCRIBE gets 503.
    # --shared: later clients join the running stream mid-GOP, as with a live camera.
    factory.set_shared(a.shared)

    if a.report_sends:
        def on_configure(_factory, media):
            pay = media.get_element().get_by_name("pay0")

            def probe(_pad, info):
                buf = info.get_buffer()
                if buf is not None and buf.pts != Gst.CLOCK_TIME_NONE:
                    sys.stdout.write(f"SENT {buf.pts // 1_000_000} {time.time() * 1000:.1f}\n")
                    sys.stdout.flush()
                return Gst.PadProbeReturn.OK

            pay.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)

        factory.connect("media-configure", on_configure)

    if a.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        if a.auth == "digest":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(a.user, a.password or "", token)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password or ""), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("user", "media.factory.access", True)
        perms.add_permission_for_role("user", "media.factory.construct", True)
        factory.set_permissions(perms)

    server.get_mount_points().add_factory(a.mount, factory)
    if server.attach(None) == 0:
        print(f"ERROR cannot listen on 127.0.0.1:{a.port}", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{a.port}{a.mount}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
