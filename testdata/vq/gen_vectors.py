#!/usr/bin/python3
"""Test vectors for the float64 reference of the Emu3 vision tokenizer (engine/ref, vq_*.go).

Builds the modules of Emu3VisionVQModel in PyTorch -- the same computations as the release's
reference/Emu3/emu3/tokenizer/modeling_emu3visionvq.py, module for module and with the same
state-dict names -- at a small configuration with the real topology, fills every tensor with
deterministic values that the Go test recomputes (see weight_values), runs encode() on a still
image and decode() on its codes in float64, and writes vectors.json beside this file.

    /usr/bin/python3 testdata/vq/gen_vectors.py      # needs python3-torch (Debian)

The Go test never runs Python: it reads vectors.json.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = dict(codebook_size=64, embed_dim=4, z_channels=4, double_z=False, in_channels=3, out_channels=3,
              temporal_downsample_factor=4, ch=32, ch_mult=[1, 2], num_res_blocks=2, attn_resolutions=[0, 1],
              dropout=0.0)
HEIGHT, WIDTH = 24, 40  # the image: a 12x20 code grid


# ---- deterministic values, recomputed bit for bit by the Go test ---------------------------------

def fnv1a32(s):
    h = 0x811C9DC5
    for b in s.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def uniform(name, n):
    """n values in [-1, 1), exact in float32: 2*(k/2^24) - 1 for a 24-bit k."""
    base = fnv1a32(name)
    return [2.0 * (fmix32(base ^ ((i * 0x9E3779B1) & 0xFFFFFFFF)) >> 8) / 16777216.0 - 1.0 for i in range(n)]


def weight_values(name, shape):
    """mean + scale*u in float64, rounded to float32 by the tensor."""
    n = math.prod(shape)
    if len(shape) >= 3:
        mean, scale = 0.0, math.sqrt(3.0 / (n // shape[0]))
    elif name == "quantize.embedding.weight":
        mean, scale = 0.0, 1.0
    elif name.endswith(".running_var"):
        mean, scale = 1.0, 0.25
    elif name.endswith(".weight"):
        mean, scale = 1.0, 0.2
    else:
        mean, scale = 0.0, 0.2
    vals = [mean + scale * u for u in uniform(name, n)]
    return torch.tensor(vals, dtype=torch.float32).reshape(shape)


# ---- the modules -----------------------------------------------------------------------------

def silu(x):
    return x * torch.sigmoid(x)


def group_norm(c):
    return nn.GroupNorm(num_groups=32, num_channels=c, eps=1e-6, affine=True)


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0))


class CausalConv3d(nn.Module):
    def __init__(self, cin, cout, kernel=(3, 1, 1), stride=(1, 1, 1)):
        super().__init__()
        pad = []
        for k, s in reversed(list(zip(kernel[1:], stride[1:]))):
            p = k - s
            pad += [p // 2 + p % 2, p // 2]
        self.padding = tuple(pad) + (2, 0)  # time: two frames in front, none behind
        self.conv = nn.Conv3d(cin, cout, kernel, stride=stride)

    def forward(self, x):
        return self.conv(F.pad(x, self.padding))


class TemporalResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1 = nn.BatchNorm3d(c)
        self.conv1 = CausalConv3d(c, c, (3, 3, 3))
        self.norm2 = nn.BatchNorm3d(c)
        self.conv2 = CausalConv3d(c, c, (3, 3, 3))

    def forward(self, x):
        h = self.conv1(silu(self.norm1(x)))
        h = self.conv2(silu(self.norm2(h)))
        return x + h


class SpatialNorm(nn.Module):
    def __init__(self, c, zq):
        super().__init__()
        self.norm_layer = group_norm(c)
        self.conv_y = nn.Conv2d(zq, c, 1)
        self.conv_b = nn.Conv2d(zq, c, 1)

    def forward(self, x, zq):
        zq = F.interpolate(zq, size=x.shape[-2:], mode="nearest")
        return self.norm_layer(x) * self.conv_y(zq) + self.conv_b(zq)


def make_norm(c, zq):
    return group_norm(c) if zq is None else SpatialNorm(c, zq)


def apply_norm(norm, x, zq):
    return norm(x) if zq is None else norm(x, zq)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, zq=None):
        super().__init__()
        self.norm1 = make_norm(cin, zq)
        self.norm2 = make_norm(cout, zq)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)
        self.changes = cin != cout

    def forward(self, x, zq=None):
        h = self.conv1(silu(apply_norm(self.norm1, x, zq)))
        h = self.conv2(silu(apply_norm(self.norm2, h, zq)))
        if self.changes:
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    def __init__(self, c, zq=None):
        super().__init__()
        self.norm = make_norm(c, zq)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x, zq=None):
        nx = apply_norm(self.norm, x, zq)
        q, k, v = self.q(nx), self.k(nx), self.v(nx)
        b, c, h, w = q.shape
        score = torch.bmm(q.reshape(b, c, h * w).permute(0, 2, 1), k.reshape(b, c, h * w)) / (c ** 0.5)
        score = F.softmax(score, dim=2)
        out = torch.bmm(v.reshape(b, c, h * w), score.permute(0, 2, 1)).reshape(b, c, h, w)
        return x + self.proj_out(out)


class TemporalUpsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = CausalConv3d(c, c, (3, 3, 3))

    def forward(self, x):
        b, c, t, h, w = x.shape
        x = x.permute(0, 1, 3, 4, 2).contiguous().view(b, -1, t)
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = x.view(b, c, h, w, -1).permute(0, 1, 4, 2, 3).contiguous()
        return self.conv(x)


class TemporalDownsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = CausalConv3d(c, c, (4, 3, 3), (2, 1, 1))

    def forward(self, x):
        return self.conv(x)


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, mult, nrb = cfg["ch"], cfg["ch_mult"], cfg["num_res_blocks"]
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch, 3, 1, 1)
        self.down = nn.ModuleList()
        cin = ch
        for i, m in enumerate(mult):
            level = nn.Module()
            level.block, level.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(nrb):
                level.block.append(ResBlock(cin, ch * m))
                cin = ch * m
                if i in cfg["attn_resolutions"]:
                    level.attn.append(AttnBlock(cin))
            if i != len(mult) - 1:
                level.downsample = Downsample(cin)
            self.down.append(level)
        self.mid = nn.Module()
        self.mid.block_1 = ResBlock(cin, cin)
        self.mid.attn_1 = AttnBlock(cin)
        self.mid.block_2 = ResBlock(cin, cin)
        self.norm_out = group_norm(cin)
        z = cfg["z_channels"]
        self.conv_out = nn.Conv2d(cin, z, 3, 1, 1)
        self.time_conv = nn.ModuleList(TemporalDownsample(z) for _ in range(int(math.log2(cfg["temporal_downsample_factor"]))))
        self.time_res_stack = nn.Sequential(*[TemporalResBlock(z) for _ in range(nrb)])
        self.cfg = cfg

    def forward(self, x):  # x: b t c h w
        t = x.shape[1]
        h = self.conv_in(x.reshape(-1, *x.shape[2:]))
        for i, level in enumerate(self.down):
            for j, block in enumerate(level.block):
                h = block(h)
                if len(level.attn) > 0:
                    h = level.attn[j](h)
            if i != len(self.down) - 1:
                h = level.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        h = self.conv_out(silu(self.norm_out(h)))
        h = h.reshape(-1, t, *h.shape[1:]).permute(0, 2, 1, 3, 4)
        for conv in self.time_conv:
            h = silu(conv(h))
        h = self.time_res_stack(h)
        return h.permute(0, 2, 1, 3, 4)


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, mult, nrb, z, zq = cfg["ch"], cfg["ch_mult"], cfg["num_res_blocks"], cfg["z_channels"], cfg["embed_dim"]
        cin = ch * mult[-1]
        self.time_res_stack = nn.Sequential(*[TemporalResBlock(z) for _ in range(nrb)])
        self.time_conv = nn.ModuleList(TemporalUpsample(z) for _ in range(int(math.log2(cfg["temporal_downsample_factor"]))))
        self.conv_in = nn.Conv2d(z, cin, 3, 1, 1)
        self.mid = nn.Module()
        self.mid.block_1 = ResBlock(cin, cin, zq)
        self.mid.attn_1 = AttnBlock(cin, zq)
        self.mid.block_2 = ResBlock(cin, cin, zq)
        self.up = nn.ModuleList()
        for i in reversed(range(len(mult))):
            level = nn.Module()
            level.block, level.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(nrb + 1):
                level.block.append(ResBlock(cin, ch * mult[i], zq))
                cin = ch * mult[i]
                if i in cfg["attn_resolutions"]:
                    level.attn.append(AttnBlock(cin, zq))
            if i != 0:
                level.upsample = Upsample(cin)
            self.up.insert(0, level)
        self.norm_out = SpatialNorm(cin, zq)
        self.conv_out = nn.Conv2d(cin, cfg["out_channels"], 3, 1, 1)

    def forward(self, z, zq):  # b t c h w each
        z_zq = torch.cat((z, zq), dim=0).permute(0, 2, 1, 3, 4)
        z_zq = self.time_res_stack(z_zq)
        for conv in self.time_conv:
            z_zq = silu(conv(z_zq))
        h, zq = torch.chunk(z_zq.permute(0, 2, 1, 3, 4), 2, dim=0)
        h, zq = h.reshape(-1, *h.shape[2:]), zq.reshape(-1, *zq.shape[2:])
        h = self.conv_in(h)
        h = self.mid.block_1(h, zq)
        h = self.mid.attn_1(h, zq)
        h = self.mid.block_2(h, zq)
        for i in reversed(range(len(self.up))):
            level = self.up[i]
            for j, block in enumerate(level.block):
                h = block(h, zq)
                if len(level.attn) > 0:
                    h = level.attn[j](h, zq)
            if i != 0:
                h = level.upsample(h)
        return self.conv_out(silu(self.norm_out(h, zq)))


class Quantizer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embedding = nn.Embedding(cfg["codebook_size"], cfg["embed_dim"])

    def distances(self, x):  # b t c h w -> [positions, codes]
        b, t, c, h, w = x.shape
        flat = x.permute(0, 1, 3, 4, 2).contiguous().view(-1, c)
        book = self.embedding.weight
        return torch.sum(flat ** 2, dim=1, keepdim=True) + torch.sum(book ** 2, dim=1) - \
            2 * torch.einsum("bd,dn->bn", flat, book.permute(1, 0))


class VQModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quantize = Quantizer(cfg)
        self.quant_conv = CausalConv3d(cfg["z_channels"], cfg["embed_dim"])
        self.post_quant_conv = CausalConv3d(cfg["embed_dim"], cfg["z_channels"])

    def latent(self, x):  # a still image b c h w
        x = x.unsqueeze(1).repeat(1, self.cfg["temporal_downsample_factor"], 1, 1, 1)
        h = self.encoder(x)
        return self.quant_conv(h.permute(0, 2, 1, 3, 4)).permute(0, 2, 1, 3, 4)

    def decode(self, codes):  # b h w
        x = codes.unsqueeze(1)
        b, t, h, w = x.shape
        quant = self.quantize.embedding(x.flatten())
        quant = quant.view(b, t, h, w, -1).permute(0, 4, 1, 2, 3).contiguous()
        quant2 = self.post_quant_conv(quant)
        video = self.decoder(quant2.permute(0, 2, 1, 3, 4), quant.permute(0, 2, 1, 3, 4))
        f = 2 ** (len(self.cfg["ch_mult"]) - 1)
        video = video.reshape(b, t * self.cfg["temporal_downsample_factor"], self.cfg["out_channels"], h * f, w * f)
        return video[:, 0]


def main():
    torch.set_grad_enabled(False)
    m = VQModel(CONFIG)
    state = {}
    for name, p in m.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = p
        else:
            state[name] = weight_values(name, list(p.shape))
    m.load_state_dict(state)
    m = m.double().eval()

    image = torch.tensor(uniform("input", 3 * HEIGHT * WIDTH), dtype=torch.float32).reshape(1, 3, HEIGHT, WIDTH)
    z = m.latent(image.double())
    # The codebook does not change the latent: place the codes among the latent vectors (spread
    # positions plus a little noise, rounded to float32) so that the argmin has real choices.
    flat = z[0, 0].reshape(CONFIG["embed_dim"], -1).t()
    k, e = CONFIG["codebook_size"], CONFIG["embed_dim"]
    noise = torch.tensor(uniform("codebook", k * e), dtype=torch.float64).reshape(k, e)
    book = (flat[torch.arange(k) * flat.shape[0] // k] + 0.05 * noise).float()
    m.quantize.embedding.weight.copy_(book.double())
    d = m.quantize.distances(z)
    codes = torch.argmin(d, dim=1)
    top2 = torch.topk(d, 2, dim=1, largest=False).values
    margin = ((top2[:, 1] - top2[:, 0]) / top2[:, 0].abs()).tolist()
    gh, gw = z.shape[-2], z.shape[-1]
    frame = m.decode(codes.view(1, gh, gw))[0]
    # The image processor's postprocess: (x - (-1)) / 2, * 255, clip, astype(uint8).
    rgb = ((frame + 1) / 2 * 255).clip(0, 255).to(torch.uint8).permute(1, 2, 0).flatten().tolist()

    out = dict(config=CONFIG, height=HEIGHT, width=WIDTH, grid=[gh, gw], tensors=len([k for k in state if not k.endswith("num_batches_tracked")]),
               codebook=book.flatten().tolist(), latent=z[0, 0].flatten().tolist(), codes=codes.tolist(), margin=margin,
               frame=frame.flatten().tolist(), rgb=rgb)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")
    with open(path, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(f"wrote {path}: {gh}x{gw} codes, min margin {min(margin):.3g}")


if __name__ == "__main__":
    main()
