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
