"""No compiled kernel updates an array's reference count inside a loop.

Every array a Numba function binds to a new variable, or receives as an
argument, gets an atomic reference-count increment and decrement, which Numba's
"refprune" pass removes when it can prove them unneeded.  It cannot when the
counted region calls another function that takes an array, or when a Numba-IR
inlined helper's copies of its arguments merge on several paths.  Such counts
inside a per-row loop cost two atomic updates per array per row: they took a
third of a 10-class one-vs-rest epoch and half of a sparse mini-batch epoch
before the kernels were written to avoid them (see ``multi_epoch`` and
``minibatch_epoch``).  This test compiles every kernel in a fresh process (an
empty cache, so that the optimised LLVM IR can be inspected) and checks two
things in each compiled function:

* no ``NRT_incref`` / ``NRT_decref`` in a block that lies on a cycle of the
  control-flow graph (a loop);
* no call from such a block to a function that itself counts references.
"""

import json
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, re, sys
    import numpy as np
    import scipy.sparse as sp
    from numba.core.registry import CPUDispatcher

    import fastloss
    from fastloss import _kernels
    from fastloss._kernels import _loss_switch, _multiclass_losses, _optim_rules, _weights
    from fastloss._kernels import grid_epoch, minibatch_epoch, multi_epoch, sgd_epoch, shuffle
    from fastloss._kernels import vr_epoch

    sys.setrecursionlimit(100000)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    y = (X[:, 0] > 0).astype(int)
    y3 = np.digitize(X[:, 1], [-0.5, 0.5])
    kw = dict(max_iter=2, tol=None, random_state=0)
    for data in (X, sp.csr_matrix(X * (rng.random(X.shape) < 0.5))):
        fastloss.SGDClassifier(**kw).fit(data, y)
        fastloss.SGDClassifier(penalty="elasticnet", average=True, **kw).fit(data, y)
        fastloss.SGDClassifier(penalty="elasticnet", average=True, **kw).fit(data, y3)
        fastloss.SGDClassifier(multi_class="multinomial", loss="log_loss", **kw).fit(data, y3)
        fastloss.SGDClassifier(multi_class="multinomial", loss="hinge", **kw).fit(data, y3)
        fastloss.SGDRegressor(optimizer="adam", batch_size=4, penalty="l1", **kw).fit(
            data, X[:, 2])
        fastloss.SGDRegressor(optimizer="momentum", learning_rate="constant", **kw).fit(
            data, X[:, 2])
        for solver in ("saga", "svrg"):
            fastloss.SGDClassifier(loss="log_loss", optimizer=solver, penalty="elasticnet",
                                   **kw).fit(data, y)
            fastloss.SGDClassifier(multi_class="multinomial", loss="log_loss",
                                   optimizer=solver, **kw).fit(data, y3)
        fastloss.SGDClassifierCV(alphas=[1e-4, 1e-2], param_grid={"loss": ["hinge", "log_loss"]},
                                 penalty="elasticnet", average=True, cv=2, **kw).fit(data, y)

    def functions(ir):
        pattern = r'^define [^@]*@"?([^"(]+)"?\\(.*?^}$'
        for m in re.finditer(pattern, ir, re.M | re.S):
            if not m.group(1).startswith(("_ZN7cpython", "cfunc.", "NRT_")):
                yield m.group(1), m.group(0)

    def blocks(body):
        out, name = {}, "entry"
        for line in body.splitlines()[1:]:
            label = re.match(r"^([A-Za-z0-9_.\\-]+):", line)
            if label:
                name = label.group(1)
            out.setdefault(name, []).append(line)
        return out

    def loop_blocks(bbs):
        succ = {b: {t for line in lines if re.search(r"\\b(br|switch)\\b", line)
                    for t in re.findall(r'label %"?([A-Za-z0-9_.\\-]+)', line)} & bbs.keys()
                for b, lines in bbs.items()}
        index, low, stack, on, inloop = {}, {}, [], set(), set()
        def visit(v):  # Tarjan's strongly connected components
            index[v] = low[v] = len(index)
            stack.append(v); on.add(v)
            for w in succ[v]:
                if w not in index:
                    visit(w); low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in succ[v]:
                    inloop.update(comp)
        for b in bbs:
            if b not in index:
                visit(b)
        return inloop

    refcounting, loops = {}, {}
    modules = (_kernels._prefetch, _optim_rules, _weights, minibatch_epoch, multi_epoch,
               sgd_epoch, shuffle, _loss_switch, _multiclass_losses, vr_epoch, grid_epoch)
    for module in modules:
        for obj in vars(module).values():
            if not isinstance(obj, CPUDispatcher):
                continue
            for cres in obj.overloads.values():
                for name, body in functions(cres.library.get_llvm_str()):
                    bbs = blocks(body)
                    refcounting[name] = "@NRT_incref(" in body or "@NRT_decref(" in body
                    inloop = loop_blocks(bbs)
                    loops[name] = [line for b in inloop for line in bbs[b]]
    def readable(mangled):  # _ZN8fastloss8_kernels3mod4funcB...  ->  fastloss._kernels.mod.func
        parts, rest = [], mangled[3:] if mangled.startswith("_ZN") else ""
        while rest[:1].isdigit():
            n = int(re.match(r"\\d+", rest).group())
            rest = rest[len(str(n)):]
            parts.append(rest[:n]); rest = rest[n:]
        return ".".join(parts) or mangled

    problems = []
    for name, lines in loops.items():
        for line in lines:
            if "@NRT_incref(" in line or "@NRT_decref(" in line:
                problems.append(f"{readable(name)}: reference count in a loop")
            callee = re.search(r"call [^@]*@([A-Za-z0-9_.$]+)\\(", line)
            if callee and refcounting.get(callee.group(1)):
                problems.append(f"{readable(name)}: calls {readable(callee.group(1))} in a loop")
    print(json.dumps({"functions": len(loops), "problems": sorted(set(problems))}))
    """
)


@pytest.mark.slow
def test_no_reference_counts_in_kernel_loops(tmp_path, run_python):
    result = json.loads(run_python(SCRIPT, NUMBA_CACHE_DIR=str(tmp_path)))
    assert result["functions"] > 20  # the epoch kernels and their helpers were inspected
    assert result["problems"] == [], "\n".join(result["problems"])
