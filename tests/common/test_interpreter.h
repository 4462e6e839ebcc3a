// RAII for tests: an aligned copy of a model file, its Model, an arena of
// exactly ArenaBytes() and an Interpreter in it.
#ifndef DIFFPOOL_TESTS_COMMON_TEST_INTERPRETER_H_
#define DIFFPOOL_TESTS_COMMON_TEST_INTERPRETER_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "diffpool/interpreter.h"
#include "diffpool/model.h"

namespace diffpool::testing {

// 64-byte aligned heap buffer.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t size) : raw_(new uint8_t[size + 64]), size_(size) {
    data_ = raw_.get() + (64 - reinterpret_cast<uintptr_t>(raw_.get()) % 64) % 64;
  }
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<uint8_t[]> raw_;
  uint8_t* data_;
  size_t size_;
};

class TestInterpreter {
 public:
  // status() tells whether loading and creation succeeded.
  explicit TestInterpreter(const std::vector<uint8_t>& file, InterpreterOptions options = {})
      : file_(file.size()) {
    std::memcpy(file_.data(), file.data(), file.size());
    status_ = Model::Load(file_.data(), file_.size(), &model_, &message_);
    if (status_ != Status::kOk) return;
    size_t bytes = 0;
    status_ = Interpreter::ArenaBytes(model_, options, &bytes, &message_);
    if (status_ != Status::kOk) return;
    arena_ = std::make_unique<AlignedBuffer>(bytes);
    status_ = Interpreter::Create(model_, options, arena_->data(), bytes, &interpreter_, &message_);
  }
  ~TestInterpreter() { Interpreter::Destroy(interpreter_); }
  TestInterpreter(const TestInterpreter&) = delete;
  TestInterpreter& operator=(const TestInterpreter&) = delete;

  Status status() const { return status_; }
  const char* message() const { return message_.text; }
  const Model& model() const { return model_; }
  Interpreter* operator->() { return interpreter_; }
  Interpreter* get() { return interpreter_; }
  size_t arena_bytes() const { return arena_ ? arena_->size() : 0; }

 private:
  AlignedBuffer file_;
  Model model_;
  Message message_;
  Status status_ = Status::kInternal;
  std::unique_ptr<AlignedBuffer> arena_;
  Interpreter* interpreter_ = nullptr;
};

}  // namespace diffpool::testing

#endif  // DIFFPOOL_TESTS_COMMON_TEST_INTERPRETER_H_
