"""Long test videos from a short shared clip, without re-encoding (packets copied, timestamps shifted)."""

from __future__ import annotations

from pathlib import Path


def loop_clip(src: Path, dst: Path, seconds: float) -> Path:
    """``dst``: the video stream of ``src`` repeated until it lasts ``seconds`` (MP4, no audio)."""
    import av

    with av.open(str(src)) as probe:
        stream = probe.streams.video[0]
        length = float(stream.duration * stream.time_base)
    loops = max(1, int(-(-seconds // length)))
    with av.open(str(dst), "w", format="mp4") as out:
        with av.open(str(src)) as first:
            template = first.streams.video[0]
            ostream = out.add_stream_from_template(template)
            tb = template.time_base
            step = int(round(length / tb))
        for i in range(loops):
            with av.open(str(src)) as inp:
                vs = inp.streams.video[0]
                for packet in inp.demux(vs):
                    if packet.dts is None:
                        continue
                    if (i * step + packet.pts) * tb >= seconds:
                        continue
                    packet.pts += i * step
                    packet.dts += i * step
                    packet.stream = ostream
                    out.mux(packet)
    return dst


def long_recording(dst: Path, seconds: float, *, fps: int = 25, pad_to: int = 0) -> Path:
    """``dst``: an H.264 MP4 (browser-playable, so no transcode follows) of ``seconds`` at ``fps`` with
    32x32 frames: a long recording's packet count, which ingest's probe reads one by one, in a few MB.
    ``pad_to`` (bytes) appends a ``free`` box, so the file also has a long recording's size and its copy
    into the media costs what that copy costs. Written in about a second per hour of video."""
    import struct

    import av
    import numpy as np

    gop = 10 * fps  # one 10 s group of pictures, encoded once and repeated with shifted timestamps
    clip = dst.with_suffix(".clip.mp4")
    with av.open(str(clip), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps, options={"g": str(gop)})
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for i in range(gop):
            image = np.full((32, 32, 3), (i * 7) % 256, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    with av.open(str(clip)) as inp:
        template = inp.streams.video[0]
        packets = [p for p in inp.demux(template) if p.size]
        step = int(round(10 / template.time_base))
        with av.open(str(dst), "w", format="mp4") as out:
            ostream = out.add_stream_from_template(template)
            for k in range(max(1, int(seconds // 10))):
                for p in packets:
                    copy = av.Packet(bytes(p))
                    copy.pts, copy.dts = p.pts + k * step, p.dts + k * step
                    copy.time_base, copy.is_keyframe, copy.stream = p.time_base, p.is_keyframe, ostream
                    out.mux(copy)
    clip.unlink()
    pad = pad_to - dst.stat().st_size
    if pad > 8:
        with open(dst, "ab") as fh:
            fh.write(struct.pack(">I4s", pad, b"free"))  # a top-level box players and demuxers skip
            fh.truncate(pad_to)  # zeros, written as a hole: quick to make, read back as bytes
    return dst
