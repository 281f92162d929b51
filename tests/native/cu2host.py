"""Rewrites a CUDA source's kernel launches for the host simulation (tests/native/cuda_host_sim.h):
`kernel<T><<<grid, block, shmem, stream>>>(args);` becomes
`::gcsim::launch_kernel(::gcsim::LaunchCfg(grid, block, shmem, stream), [&] { kernel<T>(args); });`,
so the unchanged host launch code (grid sizes, chunking, scratch) runs against the unchanged kernels.
Usage: python cu2host.py in.cu out.cpp"""

import sys


def _matching(text: str, i: int, open_: str, close: str) -> int:
    """Index just past the bracket closing the one at text[i]."""
    depth = 0
    while i < len(text):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced brackets in a kernel launch")


def transform(text: str) -> str:
    out = []
    pos = 0
    while True:
        lt = text.find("<<<", pos)
        if lt < 0:
            out.append(text[pos:])
            return "".join(out)
        gt = text.find(">>>", lt)
        # the kernel expression: back to the end of the previous statement or block opening
        start = lt
        while start > 0 and text[start - 1] not in ";{}":
            start -= 1
        while text[start] in " \t\n":
            start += 1
        kernel = text[start:lt].strip()
        if kernel.startswith("else "):  # `} else k<<<...` keeps its else
            start += len("else ")
            kernel = kernel[len("else ") :].strip()
        # a launch inside an unbraced if/for would put the condition into every simulated thread
        assert "(" not in kernel and not kernel.startswith(("if", "for", "while", "return")), (
            f"cu2host: cannot rewrite the launch of {kernel!r}: brace the statement around it"
        )
        cfg = text[lt + 3 : gt]
        p = gt + 3
        while text[p] in " \t\n":
            p += 1
        assert text[p] == "(", f"kernel launch without arguments near {text[lt - 40 : gt + 10]!r}"
        end = _matching(text, p, "(", ")")
        args = text[p + 1 : end - 1]
        out.append(text[pos:start])
        call = f"::gcsim::launch_kernel(::gcsim::LaunchCfg({cfg}), [&] {{ {kernel}({args}); }})"
        out.append(" ".join(call.split("\n")) + "\n" * text.count("\n", start, end))  # keeps line numbers
        pos = end


if __name__ == "__main__":
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        body = transform(f.read())
    with open(dst, "w") as f:
        f.write(f'#line 1 "{src}"\n' + body)
