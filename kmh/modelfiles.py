"""Where the model kit's files lie: the folder names under the models folder, and the exported encoders' files
inside the e5 folder. kmh.modelkit writes them; kmh.embedding and kmh.encoder read them."""

E5_DIRNAME = "multilingual-e5-small"
WHISPER_DIRNAME = "whisper-base"

# The e5 encoder exported to ONNX, token states out (the query embedder reads it with ONNX Runtime).
ONNX_FILE = "onnx/tokens.onnx"
# The same graph saved by OpenVINO with half-precision weights (the document encoder), tokens.bin beside it.
OPENVINO_FILE = "openvino/tokens.xml"
