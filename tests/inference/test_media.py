import numpy as np
import pytest
from PIL import Image

from inference import media
from inference.errors import MediaError


def test_probe_image_and_video(media_dir):
    info = media.probe(media_dir / "obama.jpg")
    assert (info.kind, info.width, info.height) == ("image", 910, 1137)
    v = media.probe(media_dir / "talking_face_retalking_2.mp4")
    assert v.kind == "video" and (v.width, v.height) == (844, 844)
    assert abs(v.duration - 5.0) < 0.1 and abs(v.fps - 25) < 0.1 and v.frame_count == 125


def test_rgba_and_grayscale_and_exif(media_dir, tmp_path):
    rgba = media.load_image(media_dir / "obama2_rgba_32bit.png")
    assert rgba.shape == (1200, 626, 3) and rgba.dtype == np.uint8
    Image.open(media_dir / "obama_small.jpg").convert("L").save(tmp_path / "gray.png")
    assert media.load_image(tmp_path / "gray.png").shape == (240, 320, 3)
    im = Image.open(media_dir / "obama_small.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    im.save(tmp_path / "rot.jpg", exif=exif)
    assert media.load_image(tmp_path / "rot.jpg").shape == (320, 240, 3)


def test_sampling_and_ranges(media_dir):
    path = media_dir / "short_hamilton_clip.mp4"
    frames = list(media.iter_video(path, fps=5))
    assert 44 <= len(frames) <= 48
    times = [f.time for f in frames]
    assert times == sorted(times) and all(0.15 < b - a < 0.25 for a, b in zip(times, times[1:], strict=False))
    second = list(media.iter_video(path, fps=5, start=4.6))
    assert second and second[0].time >= 4.6 - 1e-6
    assert frames[0].image.shape == (360, 640, 3)


def test_webm_vp9_roundtrip(tmp_path):
    import av

    path = tmp_path / "clip.webm"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libvpx-vp9", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            img = np.full((48, 64, 3), i * 40, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    assert media.probe(path).kind == "video"
    assert len(list(media.iter_video(path))) == 5


def test_write_video_h264_even(tmp_path):
    import av

    out = media.write_video(tmp_path / "o.mp4", [np.zeros((51, 77, 3), np.uint8)] * 3, fps=10)
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.format.name == "yuv420p"
        assert (s.width, s.height) == (76, 50)
        assert sum(1 for _ in c.decode(s)) == 3


@pytest.mark.parametrize("kind", ["truncated_mp4", "random", "text", "empty", "truncated_jpg"])
def test_bad_media_raise(kind, media_dir, tmp_path):
    p = (
        tmp_path
        / {"truncated_mp4": "t.mp4", "random": "r.bin", "text": "t.txt", "empty": "e.mp4", "truncated_jpg": "t.jpg"}[
            kind
        ]
    )
    if kind == "truncated_mp4":
        p.write_bytes((media_dir / "short_hamilton_clip.mp4").read_bytes()[:40000])
    elif kind == "random":
        p.write_bytes(np.random.default_rng(0).integers(0, 256, 8000, dtype=np.uint8).tobytes())
    elif kind == "text":
        p.write_text("this is not a video\n" * 20)
    elif kind == "empty":
        p.write_bytes(b"")
    else:
        p.write_bytes((media_dir / "obama.jpg").read_bytes()[:20000])
    with pytest.raises(MediaError) as err:
        media.probe(p)
        list(media.iter_frames(p))
    assert p.name in str(err.value)


@pytest.mark.parametrize(
    ("name", "codec"),
    [("c.webm", "libvpx"), ("c9.webm", "libvpx-vp9"), ("c.mkv", "libx264"), ("c.avi", "mpeg4"), ("c.mov", "libx264")],
)
def test_containers(name, codec, media_dir, tmp_path):
    from itertools import islice

    import av

    src = [f.image[::4, ::4] for f in islice(media.iter_video(media_dir / "talking_face_retalking_2.mp4"), 8)]
    path = tmp_path / name
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = 210, 210, "yuv420p"
        for img in src:
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:210, :210]), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    info = media.probe(path)
    assert info.kind == "video" and (info.width, info.height) == (210, 210)
    frames = list(media.iter_video(path))
    assert len(frames) == 8 and frames[-1].time > frames[0].time
