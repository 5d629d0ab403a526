// Writes models/iris_mlp.pt with libtorch's C++ API, for machines without PyTorch: the same
// TorchScript module as scripts/make_torchscript_model.py (IrisMLP: Linear(4, 16), ReLU,
// Linear(16, 3); parameters fc1.weight, fc1.bias, fc2.weight, fc2.bias; nn.Linear's default
// initialisation U(±1/√fan_in), seed 0; parameters require grad, as nn.Parameter does).
//
//   L=.libtorch; g++ -std=c++17 -O1 scripts/make_torchscript_model.cpp -I$L/include \
//     -I$L/include/torch/csrc/api/include -L$L/lib -ltorch -ltorch_cpu -lc10 \
//     -Wl,-rpath,$L/lib -o target/make_torchscript_model && target/make_torchscript_model models/iris_mlp.pt
#include <torch/script.h>

#include <cmath>
#include <iostream>

static torch::jit::Module linear(const char* type, int64_t in, int64_t out) {
  torch::jit::Module m(type);
  double bound = 1.0 / std::sqrt(static_cast<double>(in));
  m.register_parameter("weight", torch::empty({out, in}).uniform_(-bound, bound).set_requires_grad(true), false);
  m.register_parameter("bias", torch::empty({out}).uniform_(-bound, bound).set_requires_grad(true), false);
  m.define("def forward(self, x):\n  return torch.linear(x, self.weight, self.bias)\n");
  return m;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_torchscript_model OUT.pt\n";
    return 2;
  }
  torch::manual_seed(0);
  torch::jit::Module model("__torch__.IrisMLP");
  model.register_module("fc1", linear("__torch__.Linear4x16", 4, 16));
  model.register_module("fc2", linear("__torch__.Linear16x3", 16, 3));
  model.define(
      "def forward(self, x):\n"
      "  # x: [batch, 4] features; returns [batch, 3] class logits\n"
      "  return self.fc2.forward(torch.relu(self.fc1.forward(x)))\n");
  model.save(argv[1]);
  std::cout << "wrote " << argv[1] << "\n";
  return 0;
}
