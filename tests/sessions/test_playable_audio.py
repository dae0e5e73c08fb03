"""Playable copies (transcoded uploads, live recordings) keep the source's audio, in sync and audible."""

from __future__ import annotations

import logging
import struct
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from asgiref.sync import async_to_sync
from django.core.files import File

from inference.media import MP4_COPY_AUDIO, codec_name, probe, transcode_to_mp4
from sessions_app.models import Session
from sessions_app.services.playable import is_browser_playable
from tests.sessions.conftest import CLIP, communicator, cookie_for, wait_for_session

HAMILTON = "short_hamilton_clip.mp4"  # its AAC starts 0.84 s before its first picture
BROWSER_AUDIO = {"aac", "mp3"}


def _remux(
    src: Path,
    dst: Path,
    vcodec: str,
    acodec: str | None,
    *,
    rate: int = 44100,
    layout: str = "stereo",
    audio_delay: float = 0.0,
    seconds: float = 4.0,
    audio_packets=None,
) -> Path:
    """``seconds`` of ``src`` (half size) re-encoded with ``vcodec``/``acodec`` into ``dst``'s container.

    The audio keeps its time relative to the first picture, moved ``audio_delay`` seconds later (and cut
    at ``seconds``); ``audio_packets`` replaces the encoded audio by raw packet payloads.
    """
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        vstart = float(vin.start_time * vin.time_base)
        fps = vin.average_rate  # the clips are constant-rate
        vout = out.add_stream(vcodec, rate=fps)
        vout.width, vout.height, vout.pix_fmt = (
            vin.codec_context.width // 4 * 2,
            vin.codec_context.height // 4 * 2,
            "yuv420p",
        )
        aout = None
        if acodec:
            aout = out.add_stream(acodec, rate=rate)
            aout.layout = layout
        resampler = av.AudioResampler(format=aout.format.name if aout else "s16", layout=layout, rate=rate)
        n_video = 0
        for frame in inp.decode(vin, ain):
            t = float(frame.time) - vstart
            if isinstance(frame, av.VideoFrame):
                if t < -1e-6 or t >= seconds:
                    continue
                img = frame.to_ndarray(format="rgb24")[::2, ::2]
                img = np.ascontiguousarray(img[: vout.height, : vout.width])
                vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                vf.pts, vf.time_base = n_video, 1 / fps
                n_video += 1
                for packet in vout.encode(vf):
                    out.mux(packet)
            elif aout is not None and audio_packets is None:
                t += audio_delay
                if t < -1e-6 or t >= seconds:
                    continue
                for rf in resampler.resample(frame):
                    rf.pts, rf.time_base = int(round(t * rate)), Fraction(1, rate)
                    t += rf.samples / rate
                    for packet in aout.encode(rf):
                        out.mux(packet)
        if aout is not None and audio_packets is not None:
            for i, payload in enumerate(audio_packets):
                packet = av.Packet(payload)
                packet.stream = aout
                packet.pts = packet.dts = i * 960
                packet.time_base = Fraction(1, 48000)
                out.mux(packet)
        for stream in [vout] + ([aout] if aout is not None and audio_packets is None else []):
            for packet in stream.encode():
                out.mux(packet)
    return dst


def _audio_report(path: Path) -> dict:
    """Codec, start, end (s) and RMS of the first audio stream; the video's end."""
    with av.open(str(path)) as c:
        video = c.streams.video[0]
        vend = float((video.start_time or 0) * video.time_base) + float(video.duration * video.time_base)
        if not c.streams.audio:
            return {"codec": None, "video_end": vend}
        audio = c.streams.audio[0]
        samples, first, end = [], None, 0.0
        for frame in c.decode(audio):
            first = float(frame.time) if first is None else first
            end = float(frame.time) + frame.samples / frame.sample_rate
            samples.append(frame.to_ndarray().astype(np.float64).reshape(-1))
        data = np.concatenate(samples)
        if audio.codec_context.format.name.startswith("s16"):
            data /= 32768.0
        rms = float(np.sqrt(np.mean(data**2)))
        return {"codec": codec_name(audio), "start": first, "end": end, "rms": rms, "video_end": vend}


def _assert_audible_copy(path: Path, start: float = 0.0) -> dict:
    report = _audio_report(path)
    assert report["codec"] in BROWSER_AUDIO, report
    assert report["start"] == pytest.approx(start, abs=0.05), report
    assert abs(report["end"] - report["video_end"]) <= 0.1, report
    assert report["rms"] > 0.005, report  # not silence (the clips' speech is about 0.04)
    assert is_browser_playable(path)
    return report


@pytest.mark.parametrize(
    ("name", "vcodec", "acodec", "rate", "layout"),
    [
        ("aac.mkv", "libx264", "aac", 44100, "stereo"),
        ("mp3.mkv", "libx264", "libmp3lame", 44100, "stereo"),
        ("pcm.avi", "mpeg4", "pcm_s16le", 22050, "mono"),
        ("opus.mkv", "libvpx", "libopus", 48000, "stereo"),
        ("ac3.mov", "mpeg4", "ac3", 48000, "stereo"),
    ],
)
def test_transcode_keeps_audio(media_dir, tmp_path, name, vcodec, acodec, rate, layout):
    source = _remux(media_dir / CLIP, tmp_path / name, vcodec, acodec, rate=rate, layout=layout)
    out = transcode_to_mp4(source, tmp_path / "playable.mp4")
    report = _assert_audible_copy(out)
    want = "mp3" if acodec == "libmp3lame" else "aac"  # AAC and MP3 are copied; Opus, PCM, AC-3 become AAC
    assert report["codec"] == want
    with av.open(str(source)) as src, av.open(str(out)) as copy:
        copied = [bytes(p) for p in copy.demux(audio=0) if p.size]
        if acodec in ("aac", "libmp3lame"):  # the very packets, from the first picture on
            v = src.streams.video[0]
            vstart = float((v.start_time or 0) * v.time_base)
            kept = [bytes(p) for p in src.demux(audio=0) if p.size and float(p.pts * p.time_base) >= vstart - 1e-9]
            assert len(copied) >= 0.9 * len(kept) and copied == kept[: len(copied)]
        ctx = copy.streams.audio[0].codec_context
        assert (ctx.sample_rate, ctx.layout.nb_channels) == (rate, 1 if layout == "mono" else 2)
    assert probe(out).duration == pytest.approx(4.0, abs=0.05)


def test_late_audio_keeps_its_offset(media_dir, tmp_path):
    source = _remux(media_dir / CLIP, tmp_path / "late.mkv", "libx264", "pcm_s16le", audio_delay=1.0)
    out = transcode_to_mp4(source, tmp_path / "playable.mp4")
    _assert_audible_copy(out, start=1.0)


def test_early_audio_is_cut_at_the_first_picture(media_dir, tmp_path):
    """The shared clip's AAC starts 0.84 s before its first picture: copied from there, ending with the video."""
    out = transcode_to_mp4(media_dir / HAMILTON, tmp_path / "playable.mp4")
    report = _assert_audible_copy(out)
    assert report["codec"] == "aac"
    # the same sound at the same time: the copy's samples equal the source's, 0.84 s later in the source
    with av.open(str(media_dir / HAMILTON)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        origin = float(v.start_time * v.time_base)
        src = [(float(f.time) - origin, f.to_ndarray()) for f in c.decode(a) if float(f.time) >= origin]
    with av.open(str(out)) as c:
        copied = [(float(f.time), f.to_ndarray()) for f in c.decode(audio=0)]
    assert abs(len(src) - len(copied)) <= 1, (len(src), len(copied))
    for (t_src, a_src), (t_out, a_out) in list(zip(src, copied, strict=False))[5:60]:  # past the decoder's warm-up
        assert abs(t_src - t_out) < 0.001 and np.array_equal(a_src, a_out)


def test_video_only_source_stays_video_only(media_dir, tmp_path):
    source = _remux(media_dir / CLIP, tmp_path / "silent.avi", "mpeg4", None, seconds=2.0)
    out = transcode_to_mp4(source, tmp_path / "playable.mp4")
    assert _audio_report(out)["codec"] is None
    assert probe(out).duration == pytest.approx(2.0, abs=0.05)


def test_undecodable_audio_gives_a_video_only_copy(media_dir, tmp_path, caplog):
    garbage = [bytes(np.random.default_rng(i).integers(0, 256, 200, dtype=np.uint8)) for i in range(100)]
    source = _remux(
        media_dir / CLIP, tmp_path / "bad.mkv", "libx264", "flac", rate=48000, seconds=2.0, audio_packets=garbage
    )
    with av.open(str(source)) as c:
        assert c.streams.audio  # the broken stream is there
    with caplog.at_level(logging.WARNING, logger="inference.media"):
        out = transcode_to_mp4(source, tmp_path / "playable.mp4")
    assert _audio_report(out)["codec"] is None
    assert probe(out).duration == pytest.approx(2.0, abs=0.05)
    assert any("audio cannot be decoded" in r.getMessage() for r in caplog.records), caplog.records


def test_browser_audio_is_what_mp4_copies():
    assert MP4_COPY_AUDIO == BROWSER_AUDIO


def _session_with(user, source: Path) -> Session:
    session = Session.objects.create(
        owner=user, title="audio", source=Session.Source.UPLOAD, status=Session.Status.DONE, duration=4.0
    )
    with open(source, "rb") as fh:
        session.original.save(source.name, File(fh), save=True)
    return session


def _stored_copy(session: Session, tmp_path: Path) -> Path:
    local = tmp_path / "stored-playable.mp4"
    with session.playable.open("rb") as fh:
        local.write_bytes(fh.read())
    return local


@pytest.mark.django_db
def test_prepare_playable_keeps_audio(user, media_dir, tmp_path):
    from sessions_app.services.manage import delete_session
    from sessions_app.services.playable import prepare_playable

    session = _session_with(user, _remux(media_dir / HAMILTON, tmp_path / "opus.mkv", "libx264", "libopus", rate=48000))
    assert prepare_playable(session.pk) == "done"
    session.refresh_from_db()
    assert session.playable.name != session.original.name
    assert _assert_audible_copy(_stored_copy(session, tmp_path))["codec"] == "aac"
    delete_session(session)


FRAME = struct.Struct(">BdI")


def _webm_recording(src: Path, dst: Path, seconds: float = 3.0) -> Path:
    """A MediaRecorder-like WebM: VP8 video and Opus audio (48 kHz)."""
    return _remux(src, dst, "libvpx", "libopus", rate=48000, seconds=seconds)


@pytest.mark.django_db(transaction=True)
def test_worker_and_live_recording_keep_audio(client, user, media_dir, tmp_path, celery_worker_proc):
    """The real worker: a prepare_playable task, then a live recording sent in chunks over /ws/live/."""
    from sessions_app.services.manage import delete_session
    from sessions_app.tasks import prepare_playable

    session = _session_with(user, _remux(media_dir / CLIP, tmp_path / "pcm.mkv", "libx264", "pcm_s16le", seconds=2.0))
    prepare_playable.delay(session.pk)
    for _ in range(240):
        session.refresh_from_db()
        if session.playable.name:
            break
        time.sleep(0.25)
    assert session.playable.name, celery_worker_proc.log()[-3000:]
    assert _assert_audible_copy(_stored_copy(session, tmp_path))["codec"] == "aac"
    delete_session(session)

    recording = _webm_recording(media_dir / CLIP, tmp_path / "rec.webm").read_bytes()
    cookie = cookie_for(client, user)

    async def run():
        comm = communicator("/ws/live/", cookie)
        connected, _ = await comm.connect(timeout=10)
        assert connected
        await comm.send_json_to({"type": "start", "title": "Live with sound", "fps": 1.0})
        started = await comm.receive_json_from(timeout=10)
        assert started["type"] == "started", started
        chunk = len(recording) // 5 + 1
        for i in range(0, len(recording), chunk):  # MediaRecorder's timeslice chunks
            await comm.send_to(bytes_data=b"\x02" + recording[i : i + chunk])
        await comm.send_json_to({"type": "stop"})
        messages = []
        while not any(m.get("type") == "stopped" for m in messages):
            messages.append(await comm.receive_json_from(timeout=120))
        await comm.disconnect()
        return started

    started = async_to_sync(run)()
    live = wait_for_session(started["session_id"], timeout=300)
    assert live.status == Session.Status.DONE, (live.error, celery_worker_proc.log()[-3000:])
    report = _assert_audible_copy(_stored_copy(live, tmp_path))
    assert report["codec"] == "aac"  # the recording's Opus, re-encoded
    assert live.duration == pytest.approx(3.0, abs=0.1)
    delete_session(live)
