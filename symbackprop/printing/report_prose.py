"""The sentences of the reports' plain-text summaries (``print(d.cost())`` and the like), one table
per language, keyed as :data:`symbackprop.printing.prose.PROSE` is.  Fields are ``str.format`` fields;
numbers arrive formatted."""

from __future__ import annotations

REPORT_PROSE: dict[str, dict[str, str]] = {
    "en": {
        "cost.heading": "operations (scalar +, −, ×, ÷, powers and function applications, element by element)",
        "cost.forward": "forward pass",
        "cost.backward": "reverse sweep ({p} parameter gradients)",
        "cost.backprop": "backpropagation: forward + backward (page: ≈ 2×)",
        "cost.inputs": "  (gradients of the inputs, not needed for training)",
        "cost.page_naive": "page's model of the naive way: p = {p} forward passes",
        "cost.naive": "naive: sympy.diff of the expanded loss per parameter",
        "cost.times_forward": "× forward",
        "cost.naive_note": "naive count: {note}",
        "naive.forward_passes": "counted, not measured: one forward pass ({forward} operations) for each of the "
                                "{parameters} parameter elements, {operations} in all; cost(naive='measured') "
                                "differentiates the expanded loss with sympy.diff instead, on a sample",
        "naive.every_element": "every one of the {parameters} parameter elements derived with sympy.diff",
        "naive.sampled": "estimated: {derived} of {parameters} parameter elements derived with sympy.diff "
                         "({which}; {why}); each parameter's count extrapolated as its mean per element × its elements",
        "naive.over_cap": "{parameters} elements exceed the cap of {limit}",
        "naive.over_work": "{parameters} elements × {loss} operations of the expanded loss exceed the work bound "
                           "of {limit}",
        "naive.forward_too_large": "not attempted: the forward pass has {measured} operations (cap {limit}), "
                                   "so the expanded loss is too large to differentiate per parameter",
        "naive.loss_too_large": "not attempted: the expanded loss alone has {measured} operations (cap {limit}); "
                                "differentiating it once per parameter element would not finish in reasonable time",
        "naive.which.one": "the first element of each parameter",
        "naive.which.two": "the first and the last element of each parameter",
        "naive.which.many": "{k} evenly spaced elements of each parameter, the first and the last among them",
        "check.parameter": "parameter",
        "check.derived": "derived",
        "check.finite_differences": "finite differences",
        "check.sympy_diff": "sympy.diff",
        "check.error": "max rel. error",
        "check.result": "result",
        "check.skipped": "skipped",
        "check.pass": "pass",
        "check.fail": "FAIL",
        "check.note": "note: {note}",
        "check.coverage": "sympy.diff: {sympy}; finite differences: {finite}",
        "check.coverage.of": "{checked} of {total} elements",
        "check.coverage.skipped": "skipped",
        "check.sampled": "— marks an element that oracle did not look at: the elements are chosen by work, the same "
                         "on every run (thorough=True, or --thorough, derives every element with sympy.diff)",
        "check.mismatch": "MISMATCH: {names} disagree with the oracles (tolerance {tolerance:g})",
        "check.ok": "ok: all {n} gradients agree (tolerance {tolerance:g})",
        "flow.heading": "gradient norms (Frobenius), relative to {against}; vanishing < {vanishing}, "
                        "exploding > {exploding}",
        "flow.against": "the top layer's ({output}, {weight})",
        "flow.against_unknown": "the top layer's",
        "flow.layer": "layer",
        "flow.output": "output",
        "flow.relative": "relative",
        "flow.weight": "weight",
        "flow.status": "status",
        "flow.status.ok": "ok",
        "flow.status.vanishing": "vanishing",
        "flow.status.exploding": "exploding",
        "flow.status.no reference": "no reference",
        "flow.paths": "a sum over {n} paths from the loss",
        "memory.heading": "memory for the backward pass, batch {batch} (numbers = array elements)",
        "memory.reads": "forward values it reads: {names}",
        "memory.none": "none",
        "memory.stored": "stored activations: {n} numbers (∝ layers × batch × hidden: {layers} layers, batch {batch})",
        "memory.also": "also read: inputs {inputs} numbers, parameters {params}",
        "memory.plain": "no checkpointing",
        "memory.every": "checkpoint every {k} layer(s)",
        "memory.plan": "{name}: store {stored} numbers ({names}), peak {peak}; recompute {ops} operations per sample "
                       "({ratio} forward passes)",
        "evaluation.loss": "At these values the loss is {loss}.",
        "evaluation.batch": "The inputs hold a batch of {n} samples: inputs and nodes list their samples (at most "
                            "four), the loss and the parameters' gradients are means over the batch.",
        "evaluation.name": "name",
        "evaluation.kind": "kind",
        "evaluation.shape": "shape",
        "evaluation.value": "forward value",
        "evaluation.gradient": "gradient",
        "evaluation.kind.input": "input",
        "evaluation.kind.param": "parameter",
        "evaluation.kind.node": "node",
        "evaluation.kind.loss": "loss",
    },
    "ko": {
        "cost.heading": "연산 수 (스칼라 +, −, ×, ÷, 거듭제곱과 함수 적용, 원소별)",
        "cost.forward": "forward pass",
        "cost.backward": "backward pass (파라미터 {p}개의 gradient)",
        "cost.backprop": "역전파: forward + backward (페이지: ≈ 2배)",
        "cost.inputs": "  (입력의 gradient, 학습에는 필요 없음)",
        "cost.page_naive": "페이지의 비효율적인 방법: forward pass p = {p}번",
        "cost.naive": "비효율적인 방법: 파라미터마다 전개한 손실을 sympy.diff",
        "cost.times_forward": "× forward",
        "cost.naive_note": "비효율적인 방법의 연산 수: {note}",
        "naive.forward_passes": "측정하지 않고 센 값: 파라미터 원소 {parameters}개마다 forward pass 한 번 (연산 "
                                "{forward}개), 모두 {operations}개; cost(naive='measured')는 대신 전개한 손실을 "
                                "표본에서 sympy.diff로 미분",
        "naive.every_element": "파라미터 원소 {parameters}개 모두 sympy.diff로 미분",
        "naive.sampled": "추정치: 파라미터 원소 {parameters}개 중 {derived}개를 sympy.diff로 미분 ({which}; {why}); "
                         "각 파라미터의 값은 원소당 평균 × 원소 수로 외삽",
        "naive.over_cap": "원소 {parameters}개가 상한 {limit}개를 넘음",
        "naive.over_work": "원소 {parameters}개 × 전개한 손실의 연산 {loss}개가 작업 상한 {limit}을 넘음",
        "naive.forward_too_large": "시도하지 않음: forward pass가 연산 {measured}개 (상한 {limit})라서 전개한 손실을 "
                                   "파라미터마다 미분하기에는 너무 큼",
        "naive.loss_too_large": "시도하지 않음: 전개한 손실 자체가 연산 {measured}개 (상한 {limit})라서 파라미터 "
                                "원소마다 미분하면 적당한 시간 안에 끝나지 않음",
        "naive.which.one": "각 파라미터의 첫 원소",
        "naive.which.two": "각 파라미터의 첫 원소와 마지막 원소",
        "naive.which.many": "각 파라미터에서 고르게 떨어진 원소 {k}개, 첫 원소와 마지막 원소 포함",
        "check.parameter": "파라미터",
        "check.derived": "유도한 값",
        "check.finite_differences": "유한 차분",
        "check.sympy_diff": "sympy.diff",
        "check.error": "최대 상대 오차",
        "check.result": "결과",
        "check.skipped": "건너뜀",
        "check.pass": "통과",
        "check.fail": "실패",
        "check.note": "참고: {note}",
        "check.coverage": "sympy.diff: {sympy}; 유한 차분: {finite}",
        "check.coverage.of": "원소 {total}개 중 {checked}개",
        "check.coverage.skipped": "건너뜀",
        "check.sampled": "—는 그 기준이 보지 않은 원소입니다: 원소는 작업량으로 고르며 실행할 때마다 같습니다 "
                         "(thorough=True 또는 --thorough를 주면 모든 원소를 sympy.diff로 유도합니다)",
        "check.mismatch": "불일치: 기준 값과 다른 gradient: {names} (허용 오차 {tolerance:g})",
        "check.ok": "확인: gradient {n}개가 모두 일치합니다 (허용 오차 {tolerance:g})",
        "flow.heading": "gradient norm (Frobenius), {against} 대비; 소실 < {vanishing}, 폭발 > {exploding}",
        "flow.against": "최상위 층 ({output}, {weight})",
        "flow.against_unknown": "최상위 층",
        "flow.layer": "층",
        "flow.output": "출력",
        "flow.relative": "비율",
        "flow.weight": "가중치",
        "flow.status": "상태",
        "flow.status.ok": "정상",
        "flow.status.vanishing": "소실",
        "flow.status.exploding": "폭발",
        "flow.status.no reference": "기준 없음",
        "flow.paths": "손실에서 오는 경로 {n}개의 합",
        "memory.heading": "backward pass의 메모리, 배치 {batch} (숫자 = 배열 원소)",
        "memory.reads": "읽는 forward 값: {names}",
        "memory.none": "없음",
        "memory.stored": "저장하는 활성값: 숫자 {n}개 (∝ 층 수 × 배치 × 은닉 크기: {layers}개 층, 배치 {batch})",
        "memory.also": "그 밖에 읽는 값: 입력 숫자 {inputs}개, 파라미터 {params}개",
        "memory.plain": "checkpointing 없음",
        "memory.every": "{k}개 층마다 checkpoint",
        "memory.plan": "{name}: 숫자 {stored}개 저장 ({names}), 최대 {peak}개; 샘플당 연산 {ops}개 재계산 "
                       "(forward pass {ratio}번)",
        "evaluation.loss": "이 값에서 손실은 {loss}입니다.",
        "evaluation.batch": "입력은 샘플 {n}개의 배치입니다. 입력과 노드는 샘플별 값을 (최대 네 개까지) 나열하고, "
                            "손실과 파라미터의 gradient는 배치 평균입니다.",
        "evaluation.name": "이름",
        "evaluation.kind": "종류",
        "evaluation.shape": "크기(shape)",
        "evaluation.value": "forward 값",
        "evaluation.gradient": "gradient",
        "evaluation.kind.input": "입력",
        "evaluation.kind.param": "파라미터",
        "evaluation.kind.node": "노드",
        "evaluation.kind.loss": "손실",
    },
}


def report_say(lang: str, key: str, **fields: object) -> str:
    """The report sentence ``key`` in ``lang`` with its fields filled in."""
    return REPORT_PROSE[lang][key].format(**fields)
