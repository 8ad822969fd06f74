"""ONNX export of fitted fastloss estimators through skl2onnx.

Importing this module registers a parser, a shape calculator and a converter
for :class:`fastloss.SGDClassifier` and :class:`fastloss.SGDRegressor` with
skl2onnx, after which ``skl2onnx.to_onnx(model, X[:1])`` exports a fitted
model (alone or as the last step of a scikit-learn pipeline)::

    import fastloss.onnx  # noqa: F401  (registers the converters)
    from skl2onnx import to_onnx

    onx = to_onnx(model, X[:1])

Needs the optional extra ``onnx`` (skl2onnx, onnx, onnxruntime;
``pip install -e ".[onnx]"`` in a checkout).  See docs/user_guide/onnx.rst.

The graph reproduces the estimator's own prediction methods, link by link
(the loss object's ``link`` decides, so a user-defined loss with a built-in
link exports too):

- classifier outputs ``label`` (``predict``), ``probabilities``
  (``predict_proba``; only where the model has it) and ``scores``
  (``decision_function``: shape ``(N,)`` for one model, ``(N, n_classes)``
  otherwise), as plain tensors (no ZipMap);
- regressor output ``variable`` of shape ``(N, 1)`` (``predict``, through the
  loss's link: identity, ``exp`` for Poisson / Tweedie, ``expit`` for
  cross-entropy), as skl2onnx's regressors;
- scores and links run in the input's type (``float`` or ``double``), the
  softmax and the one-vs-rest normalisation in double, where ``predict_proba``
  runs them; probabilities are returned in the input's type.  Export a model
  fitted on float32 data with a float32 sample, one fitted on float64 data
  with a float64 sample.

One-vs-rest probabilities are each class's binary probability normalised
over the classes (a row whose probabilities are all zero becomes uniform),
exactly as ``predict_proba`` computes them; multinomial models give the
softmax of the scores.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
except ImportError as error:  # the optional extra is missing
    raise ImportError(
        "fastloss.onnx needs the extra 'onnx': pip install skl2onnx onnx onnxruntime "
        '(in a checkout of fastloss: pip install -e ".[onnx]")'
    ) from error

from .linear_model import SGDClassifier, SGDRegressor
from .losses._link import ClippedLinearLink, IdentityLink, LogitLink, LogLink
from .losses._multiclass import SoftmaxLink

__all__ = ["register_converters"]

_CLASSIFIER_ALIAS = "FastlossSGDClassifier"
_REGRESSOR_ALIAS = "FastlossSGDRegressor"
_LINKS = (IdentityLink, LogitLink, ClippedLinearLink, LogLink, SoftmaxLink)


def register_converters() -> None:
    """Register fastloss's estimators with skl2onnx (done on import; idempotent).

    After this, :func:`skl2onnx.to_onnx` and :func:`skl2onnx.convert_sklearn`
    convert fitted :class:`~fastloss.SGDClassifier` and
    :class:`~fastloss.SGDRegressor` models, also inside pipelines.
    """
    update_registered_converter(
        SGDClassifier,
        _CLASSIFIER_ALIAS,
        _classifier_shapes,
        _convert_classifier,
        parser=_parse_classifier,
    )
    update_registered_converter(
        SGDRegressor, _REGRESSOR_ALIAS, _regressor_shapes, _convert_regressor
    )


# ------------------------------------------------------------------ parsing
def _link_of(model):
    check_is_fitted(model)
    link = model.loss_function_.link
    if not isinstance(link, _LINKS):
        raise NotImplementedError(
            f"fastloss.onnx cannot export the link {type(link).__name__} of "
            f"{model.loss_function_!r}; the links it exports are "
            f"{[cls.__name__ for cls in _LINKS]}."
        )
    return link


def _label_type(classes: np.ndarray):
    """The ONNX tensor type of ``classes_``: int64 for integers and booleans,
    double for floats, string otherwise."""
    if classes.dtype.kind in "iub":
        return Int64TensorType
    if classes.dtype.kind == "f":
        return DoubleTensorType
    return StringTensorType


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """Declare the classifier's outputs: label, probabilities (where the model
    has ``predict_proba``) and scores."""
    gives_probabilities = _link_of(model).gives_probabilities  # checks it is fitted
    operator = scope.declare_local_operator(_CLASSIFIER_ALIAS, model)
    operator.inputs = inputs
    input_type = type(inputs[0].type)
    names = ["label", "probabilities", "scores"]
    types = [_label_type(model.classes_), input_type, input_type]
    if not gives_probabilities:
        del names[1], types[1]
    for name, tensor_type in zip(names, types, strict=True):
        operator.outputs.append(scope.declare_local_variable(name, tensor_type()))
    return operator.outputs


# ---------------------------------------------------------- shape calculators
def _check_input(operator):
    tensor_type = operator.inputs[0].type
    if not isinstance(tensor_type, (FloatTensorType, DoubleTensorType)):
        raise TypeError(
            f"fastloss.onnx exports models on float or double inputs; got {tensor_type}."
        )
    return tensor_type


def _classifier_shapes(operator):
    model = operator.raw_operator
    tensor_type = _check_input(operator)
    n, n_classes = tensor_type.shape[0], len(model.classes_)
    value_type = type(tensor_type)
    types = [_label_type(model.classes_)([n])]
    if len(operator.outputs) == 3:
        types.append(value_type([n, n_classes]))  # probabilities
    types.append(value_type([n] if model.coef_.shape[0] == 1 else [n, n_classes]))  # scores
    for output, output_type in zip(operator.outputs, types, strict=True):
        output.type = output_type


def _regressor_shapes(operator):
    _link_of(operator.raw_operator)  # a fitted model with a link the converter knows
    tensor_type = _check_input(operator)
    operator.outputs[0].type = type(tensor_type)([tensor_type.shape[0], 1])


# ------------------------------------------------------------------ converters
class _Graph:
    """Adds nodes and constants of one converter call, in one element type."""

    def __init__(self, scope, container, dtype):
        self.scope, self.container, self.dtype = scope, container, dtype
        self.proto = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE

    def name(self, seed):
        return self.scope.get_unique_variable_name(seed)

    def constant(self, seed, values, proto=None):
        values = np.asarray(values)
        name = self.name(seed)
        if proto == TensorProto.STRING:
            content = [str(v).encode("utf-8") for v in values.ravel()]
        else:
            content = values.ravel().tolist()
        self.container.add_initializer(name, proto or self.proto, list(values.shape), content)
        return name

    def node(self, op_type, inputs, output=None, **attrs):
        output = output or self.name(op_type.lower())
        self.container.add_node(
            op_type, inputs, [output], name=self.scope.get_unique_operator_name(op_type), **attrs
        )
        return output


def _linear_scores(graph, model, x):
    """``X @ coef_.T + intercept_``: (N, n_models)."""
    coef = model.coef_
    coef = coef.toarray() if hasattr(coef, "toarray") else np.asarray(coef)
    coef = np.atleast_2d(coef).astype(graph.dtype)
    intercept = np.atleast_1d(np.asarray(model.intercept_)).astype(graph.dtype)
    product = graph.node("MatMul", [x, graph.constant("coef", coef.T)])
    return graph.node("Add", [product, graph.constant("intercept", intercept)])


def _inverse_link(graph, link, raw):
    """The link's ``inverse`` of raw scores, element-wise (the softmax is
    handled where the classes are: ``_probabilities``)."""
    if isinstance(link, IdentityLink):
        return raw
    if isinstance(link, LogitLink):
        return _expit(graph, raw)
    if isinstance(link, LogLink):
        return graph.node("Exp", [raw])
    if isinstance(link, ClippedLinearLink):
        # (clip(raw, -1, 1) + 1) / 2, with Min / Max: Clip's signature changed in opset 11
        one = graph.constant("one", np.array(1.0, dtype=graph.dtype))
        minus_one = graph.constant("minus_one", np.array(-1.0, dtype=graph.dtype))
        clipped = graph.node("Max", [graph.node("Min", [raw, one]), minus_one])
        half = graph.constant("half", np.array(0.5, dtype=graph.dtype))
        return graph.node("Mul", [graph.node("Add", [clipped, one]), half])
    raise NotImplementedError(type(link).__name__)  # _link_of screened it


def _expit(graph, raw):
    """``1 / (1 + exp(-raw))``, written out as SciPy's ``expit`` computes it (0
    where ``exp`` overflows): onnxruntime's Sigmoid returns other values far
    in the negative tail, and normalising a one-vs-rest row whose
    probabilities are all that small magnifies the difference."""
    one = graph.constant("one", np.array(1.0, dtype=graph.dtype))
    tail = graph.node("Exp", [graph.node("Neg", [raw])])
    return graph.node("Div", [one, graph.node("Add", [one, tail])])


def _normalised(graph, probabilities, n_classes):
    """Each row divided by its sum; an all-zero row becomes uniform (predict_proba)."""
    total = graph.node(
        "MatMul",
        [probabilities, graph.constant("ones", np.ones((n_classes, 1), dtype=graph.dtype))],
    )
    zero = graph.constant("zero", np.array(0.0, dtype=graph.dtype))
    uniform = graph.constant("uniform", np.array(1.0 / n_classes, dtype=graph.dtype))
    ratio = graph.node("Div", [probabilities, total])
    return graph.node("Where", [graph.node("Equal", [total, zero]), uniform, ratio])


def _convert_classifier(scope, operator, container):
    model = operator.raw_operator
    x = operator.inputs[0].full_name
    graph = _Graph(scope, container, _dtype(operator))
    link = _link_of(model)
    raw = _linear_scores(graph, model, x)  # (N, n_models)
    classes = model.classes_
    binary = model.coef_.shape[0] == 1
    label_type = _label_type(classes)
    if label_type is Int64TensorType:
        label_proto, label_values = TensorProto.INT64, classes.astype(np.int64)
    elif label_type is DoubleTensorType:
        label_proto, label_values = TensorProto.DOUBLE, classes.astype(np.float64)
    else:
        label_proto, label_values = TensorProto.STRING, classes
    class_table = graph.constant("classes", label_values, proto=label_proto)

    outputs = [variable.full_name for variable in operator.outputs]
    label_out, score_out = outputs[0], outputs[-1]
    if binary:
        zero = graph.constant("zero", np.array(0.0, dtype=graph.dtype))
        index = graph.node("Cast", [graph.node("Greater", [raw, zero])], to=TensorProto.INT64)
        index = graph.node("Reshape", [index, graph.constant("flat", [-1], TensorProto.INT64)])
        graph.node("Reshape", [raw, graph.constant("flat", [-1], TensorProto.INT64)], score_out)
    else:
        index = graph.node("ArgMax", [raw], axis=1, keepdims=0)
        graph.node("Identity", [raw], score_out)
    graph.node("Gather", [class_table, index], label_out, axis=0)

    if len(outputs) == 3:
        probabilities = _probabilities(graph, link, raw, len(classes))
        graph.node("Cast", [probabilities], outputs[1], to=_proto(operator))


def _probabilities(graph, link, raw, n_classes):
    """predict_proba, in double: the link is applied where predict_proba applies
    it (softmax on scores cast to float64, other links on the scores as they
    are), then the one-vs-rest rows are normalised in double, which magnifies
    any rounding of rows whose probabilities are all tiny."""
    double = _Graph(graph.scope, graph.container, np.float64)
    binary = n_classes == 2
    if isinstance(link, SoftmaxLink):
        raw = double.node("Cast", [raw], to=TensorProto.DOUBLE)
        if not binary:
            return double.node("Softmax", [raw], axis=1)
        positive = _expit(double, raw)  # two classes, one score
    else:
        positive = double.node("Cast", [_inverse_link(graph, link, raw)], to=TensorProto.DOUBLE)
        if not binary:
            return _normalised(double, positive, n_classes)
    one = double.constant("one", np.array(1.0))
    return double.node("Concat", [double.node("Sub", [one, positive]), positive], axis=1)


def _convert_regressor(scope, operator, container):
    model = operator.raw_operator
    graph = _Graph(scope, container, _dtype(operator))
    raw = _linear_scores(graph, model, operator.inputs[0].full_name)
    prediction = _inverse_link(graph, _link_of(model), raw)
    graph.node("Identity", [prediction], operator.outputs[0].full_name)


def _proto(operator):
    return TensorProto.FLOAT if _dtype(operator) == np.float32 else TensorProto.DOUBLE


def _dtype(operator):
    return np.float32 if isinstance(operator.inputs[0].type, FloatTensorType) else np.float64


register_converters()
