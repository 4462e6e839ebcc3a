#include "converter/pickle_reader.h"

#include <cstring>
#include <map>
#include <utility>

#include "converter/error.h"

namespace diffpool::converter {
namespace {

struct StorageClass {
  const char* name;
  StorageType type;
  size_t bytes;
};
constexpr StorageClass kStorageClasses[] = {
    {"FloatStorage", StorageType::kFloat, 4},     {"DoubleStorage", StorageType::kDouble, 8},
    {"HalfStorage", StorageType::kHalf, 2},       {"BFloat16Storage", StorageType::kBFloat16, 2},
    {"LongStorage", StorageType::kLong, 8},       {"IntStorage", StorageType::kInt, 4},
    {"ShortStorage", StorageType::kShort, 2},     {"CharStorage", StorageType::kChar, 1},
    {"ByteStorage", StorageType::kByte, 1},       {"BoolStorage", StorageType::kBool, 1}};

// The callables REDUCE may apply.
enum class Callable { kNone, kOrderedDict, kRebuildTensor, kRebuildTensorV2, kRebuildParameter,
                      kRebuildParameterWithState };

constexpr char kStateDictHint[] =
    " A state_dict holds only tensors, dicts, lists, tuples, strings and numbers. If the file "
    "was written by torch.save(model), save the weights instead: "
    "torch.save(model.state_dict(), path).";

bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (extra > s.size() - i - 1) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      code = (code << 6) | (d & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8
    // (Python allows lone surrogates via surrogatepass; pickles of keys don't).
    static const uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  PickleData Run() {
    while (true) {
      if (pos_ >= size_) Fail("ends without STOP");
      op_at_ = pos_;
      const uint8_t op = data_[pos_++];
      if (op == '.') break;  // STOP
      Step(op);
    }
    if (stack_.size() != 1 || !marks_.empty()) {
      Fail("STOP with " + std::to_string(stack_.size()) + " values and " +
           std::to_string(marks_.size()) + " marks on the stack (expected one value)");
    }
    if (pos_ != size_) {
      Fail(std::to_string(size_ - pos_) + " bytes after STOP");
    }
    PickleData result;
    result.root = stack_.back();
    result.objects = std::move(objects_);
    return result;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw ConvertError("pickle: " + what + " (opcode at byte " + std::to_string(op_at_) + ")");
  }

  const uint8_t* Take(uint64_t n) {
    if (n > size_ - pos_) {
      Fail("needs " + std::to_string(n) + " bytes, " + std::to_string(size_ - pos_) + " remain");
    }
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }

  uint64_t LittleEndian(int bytes) {
    const uint8_t* p = Take(static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }

  std::string Line() {
    const size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) Fail("GLOBAL name without a newline");
    std::string line(reinterpret_cast<const char*>(data_ + start), pos_ - start);
    ++pos_;
    return line;
  }

  int32_t New(PickleObject object) {
    if (objects_.size() >= kMaxPickleObjects) {
      Fail("more than " + std::to_string(kMaxPickleObjects) + " objects");
    }
    objects_.push_back(std::move(object));
    return static_cast<int32_t>(objects_.size() - 1);
  }

  int32_t NewSimple(PickleKind kind, int64_t integer = 0) {
    PickleObject o;
    o.kind = kind;
    o.integer = integer;
    return New(std::move(o));
  }

  int32_t NewText(PickleKind kind, std::string text) {
    if (kind == PickleKind::kString && !ValidUtf8(text)) Fail("string is not valid UTF-8");
    PickleObject o;
    o.kind = kind;
    o.text = std::move(text);
    return New(std::move(o));
  }

  int32_t NewContainer(PickleKind kind, std::vector<int32_t> items) {
    PickleObject o;
    o.kind = kind;
    o.items = std::move(items);
    return New(std::move(o));
  }

  void Push(int32_t index) {
    if (stack_.size() >= kMaxPickleStack) {
      Fail("stack deeper than " + std::to_string(kMaxPickleStack));
    }
    stack_.push_back(index);
  }

  size_t Floor() const { return marks_.empty() ? 0 : marks_.back(); }

  int32_t Pop() {
    if (stack_.size() <= Floor()) Fail("pops an empty stack (or past a MARK)");
    const int32_t top = stack_.back();
    stack_.pop_back();
    return top;
  }

  int32_t Top() const {
    if (stack_.size() <= Floor()) Fail("reads an empty stack (or past a MARK)");
    return stack_.back();
  }

  // The values pushed since the last MARK, which is removed.
  std::vector<int32_t> PopMark() {
    if (marks_.empty()) Fail("needs a MARK");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<int32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }

  PickleObject& At(int32_t index) { return objects_[static_cast<size_t>(index)]; }

  PickleObject& Expect(int32_t index, PickleKind kind, const char* what) {
    PickleObject& o = At(index);
    if (o.kind != kind) {
      Fail(std::string(what) + " must be a " + ToString(kind) + ", got " + ToString(o.kind));
    }
    return o;
  }

  void Memoize(uint64_t key, int32_t index) {
    if (memo_.size() >= kMaxPickleObjects && memo_.count(key) == 0) Fail("memo too large");
    memo_[key] = index;
  }

  int32_t Recall(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) Fail("memo entry " + std::to_string(key) + " was never stored");
    return it->second;
  }

  void AddToDict(int32_t dict, const std::vector<int32_t>& pairs) {
    if (pairs.size() % 2 != 0) Fail("SETITEMS with an odd number of values");
    PickleObject& d = Expect(dict, PickleKind::kDict, "SETITEM target");
    d.items.insert(d.items.end(), pairs.begin(), pairs.end());
  }

  int64_t SignedLittleEndian(const uint8_t* p, uint64_t n) {
    if (n > 8) Fail("integer of " + std::to_string(n) + " bytes does not fit 64 bits");
    if (n == 0) return 0;
    uint64_t v = 0;
    for (uint64_t i = n; i-- > 0;) v = (v << 8) | p[i];
    if (n < 8 && (p[n - 1] & 0x80) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    int64_t result;
    std::memcpy(&result, &v, 8);
    return result;
  }

  void Global(const std::string& module, const std::string& name) {
    PickleObject o;
    o.kind = PickleKind::kGlobal;
    o.text = module + "." + name;
    if (module == "torch") {
      for (const StorageClass& c : kStorageClasses) {
        if (name == c.name) {
          o.storage_type = c.type;
          Push(New(std::move(o)));
          return;
        }
      }
    }
    const bool allowed =
        (module == "collections" && name == "OrderedDict") ||
        (module == "torch._utils" &&
         (name == "_rebuild_tensor_v2" || name == "_rebuild_tensor" ||
          name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state"));
    if (!allowed) {
      std::string shown = module + "." + name;
      if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
      Fail("refuses global " + shown + ": only collections.OrderedDict, torch._utils tensor and "
           "parameter rebuilds and torch storage types are allowed." + kStateDictHint);
    }
    Push(New(std::move(o)));
  }

  Callable CallableOf(int32_t index) {
    const PickleObject& f = At(index);
    if (f.kind != PickleKind::kGlobal) Fail(std::string("REDUCE of a ") + ToString(f.kind));
    if (f.text == "collections.OrderedDict") return Callable::kOrderedDict;
    if (f.text == "torch._utils._rebuild_tensor_v2") return Callable::kRebuildTensorV2;
    if (f.text == "torch._utils._rebuild_tensor") return Callable::kRebuildTensor;
    if (f.text == "torch._utils._rebuild_parameter") return Callable::kRebuildParameter;
    if (f.text == "torch._utils._rebuild_parameter_with_state") {
      return Callable::kRebuildParameterWithState;
    }
    Fail("REDUCE calls " + f.text + ", which is not a callable (a storage type?)");
  }

  std::vector<int64_t> IntTuple(int32_t index, const char* what) {
    const PickleObject& t = At(index);
    if (t.kind != PickleKind::kTuple && t.kind != PickleKind::kList) {
      Fail(std::string(what) + " must be a tuple of integers, got " + ToString(t.kind));
    }
    if (t.items.size() > kMaxTensorRank) {
      Fail(std::string(what) + " has " + std::to_string(t.items.size()) + " dimensions (max " +
           std::to_string(kMaxTensorRank) + ")");
    }
    std::vector<int64_t> values;
    for (int32_t item : t.items) values.push_back(Expect(item, PickleKind::kInt, what).integer);
    return values;
  }

  int32_t RebuildTensor(const std::vector<int32_t>& args, bool v2) {
    const size_t want = v2 ? 6 : 4;
    if (args.size() != want && !(v2 && args.size() == 7)) {
      Fail(std::string(v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor") + " with " +
           std::to_string(args.size()) + " arguments");
    }
    PickleObject tensor;
    tensor.kind = PickleKind::kTensor;
    tensor.storage = args[0];
    Expect(args[0], PickleKind::kStorage, "a tensor's storage");
    tensor.offset = Expect(args[1], PickleKind::kInt, "storage_offset").integer;
    tensor.sizes = IntTuple(args[2], "size");
    tensor.strides = IntTuple(args[3], "stride");
    if (tensor.sizes.size() != tensor.strides.size()) {
      Fail("tensor with " + std::to_string(tensor.sizes.size()) + " sizes and " +
           std::to_string(tensor.strides.size()) + " strides");
    }
    if (v2) {
      Expect(args[4], PickleKind::kBool, "requires_grad");
      Expect(args[5], PickleKind::kDict, "backward_hooks");
      if (args.size() == 7 && At(args[6]).kind != PickleKind::kNone &&
          At(args[6]).kind != PickleKind::kDict) {
        Fail("tensor metadata must be None or a dict");
      }
    }
    return New(std::move(tensor));
  }

  void Reduce() {
    const int32_t args_index = Pop();
    const int32_t callable_index = Pop();
    const Callable callable = CallableOf(callable_index);
    const std::vector<int32_t> args = Expect(args_index, PickleKind::kTuple, "REDUCE arguments").items;
    switch (callable) {
      case Callable::kOrderedDict: {
        std::vector<int32_t> pairs;
        if (args.size() == 1) {
          // OrderedDict([(key, value), ...])
          const PickleObject& list = At(args[0]);
          if (list.kind != PickleKind::kList && list.kind != PickleKind::kTuple) {
            Fail("OrderedDict argument must be a list of pairs");
          }
          for (int32_t pair : list.items) {
            const PickleObject& p = At(pair);
            if ((p.kind != PickleKind::kTuple && p.kind != PickleKind::kList) ||
                p.items.size() != 2) {
              Fail("OrderedDict argument must be a list of pairs");
            }
            pairs.push_back(p.items[0]);
            pairs.push_back(p.items[1]);
          }
        } else if (!args.empty()) {
          Fail("OrderedDict with " + std::to_string(args.size()) + " arguments");
        }
        Push(NewContainer(PickleKind::kDict, std::move(pairs)));
        return;
      }
      case Callable::kRebuildTensorV2:
      case Callable::kRebuildTensor:
        Push(RebuildTensor(args, callable == Callable::kRebuildTensorV2));
        return;
      case Callable::kRebuildParameter:
      case Callable::kRebuildParameterWithState: {
        const size_t want = callable == Callable::kRebuildParameter ? 3 : 4;
        if (args.size() != want) {
          Fail("_rebuild_parameter with " + std::to_string(args.size()) + " arguments");
        }
        Expect(args[0], PickleKind::kTensor, "a parameter's data");
        Expect(args[1], PickleKind::kBool, "requires_grad");
        Expect(args[2], PickleKind::kDict, "backward_hooks");
        Push(args[0]);
        return;
      }
      case Callable::kNone:
        break;
    }
    Fail("REDUCE of an unknown callable");
  }

  void PersistentId() {
    const int32_t pid = Pop();
    const PickleObject& t = At(pid);
    if (t.kind != PickleKind::kTuple || t.items.size() != 5 ||
        At(t.items[0]).kind != PickleKind::kString || At(t.items[0]).text != "storage") {
      Fail("persistent id must be ('storage', type, key, location, numel)");
    }
    const PickleObject& type = Expect(t.items[1], PickleKind::kGlobal, "storage type");
    if (type.text.rfind("torch.", 0) != 0 || type.text.size() < 13 ||
        type.text.compare(type.text.size() - 7, 7, "Storage") != 0) {
      Fail("storage type " + type.text + " is not a torch storage class");
    }
    PickleObject storage;
    storage.kind = PickleKind::kStorage;
    storage.storage_type = type.storage_type;
    storage.storage_key = Expect(t.items[2], PickleKind::kString, "storage key").text;
    Expect(t.items[3], PickleKind::kString, "storage location");
    storage.storage_numel = Expect(t.items[4], PickleKind::kInt, "storage numel").integer;
    if (storage.storage_numel < 0) Fail("storage with a negative element count");
    // One storage per key: tensors that share it share the record.
    auto it = storages_.find(storage.storage_key);
    if (it != storages_.end()) {
      const PickleObject& seen = At(it->second);
      if (seen.storage_type != storage.storage_type || seen.storage_numel != storage.storage_numel) {
        Fail("storage \"" + storage.storage_key + "\" declared twice with different types or sizes");
      }
      Push(it->second);
      return;
    }
    const int32_t index = New(std::move(storage));
    storages_.emplace(At(index).storage_key, index);
    Push(index);
  }

  void Step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t version = LittleEndian(1);
        if (version < 2 || version > 5) Fail("protocol " + std::to_string(version));
        return;
      }
      case 0x95:  // FRAME: the framed opcodes follow inline
        if (LittleEndian(8) > size_ - pos_) Fail("frame longer than the data");
        return;
      case '(':  // MARK
        if (marks_.size() >= kMaxPickleStack) Fail("too many MARKs");
        marks_.push_back(stack_.size());
        return;
      case '0':  // POP
        if (stack_.size() > Floor()) {
          stack_.pop_back();
        } else {
          PopMark();
        }
        return;
      case '1':  // POP_MARK
        PopMark();
        return;
      case '2':  // DUP
        Push(Top());
        return;
      case 'N':
        Push(NewSimple(PickleKind::kNone));
        return;
      case 0x88:  // NEWTRUE
        Push(NewSimple(PickleKind::kBool, 1));
        return;
      case 0x89:  // NEWFALSE
        Push(NewSimple(PickleKind::kBool, 0));
        return;
      case 'J':  // BININT
        Push(NewSimple(PickleKind::kInt, static_cast<int32_t>(LittleEndian(4))));
        return;
      case 'K':  // BININT1
        Push(NewSimple(PickleKind::kInt, static_cast<int64_t>(LittleEndian(1))));
        return;
      case 'M':  // BININT2
        Push(NewSimple(PickleKind::kInt, static_cast<int64_t>(LittleEndian(2))));
        return;
      case 0x8a: {  // LONG1
        const uint64_t n = LittleEndian(1);
        Push(NewSimple(PickleKind::kInt, SignedLittleEndian(Take(n), n)));
        return;
      }
      case 0x8b: {  // LONG4
        const uint64_t n = LittleEndian(4);
        if (n > 8) Fail("integer of " + std::to_string(n) + " bytes does not fit 64 bits");
        Push(NewSimple(PickleKind::kInt, SignedLittleEndian(Take(n), n)));
        return;
      }
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* p = Take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        PickleObject o;
        o.kind = PickleKind::kFloat;
        std::memcpy(&o.real, &bits, 8);
        Push(New(std::move(o)));
        return;
      }
      case 'X':     // BINUNICODE
      case 0x8c:    // SHORT_BINUNICODE
      case 0x8d:    // BINUNICODE8
      case 'T':     // BINSTRING (Python 2 str)
      case 'U':     // SHORT_BINSTRING
      case 'B':     // BINBYTES
      case 'C':     // SHORT_BINBYTES
      case 0x8e: {  // BINBYTES8
        const int width = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
        uint64_t n = LittleEndian(width);
        if (op == 'T' && n > 0x7fffffff) Fail("negative BINSTRING length");
        const uint8_t* p = Take(n);
        const bool bytes = op == 'B' || op == 'C' || op == 0x8e;
        Push(NewText(bytes ? PickleKind::kBytes : PickleKind::kString,
                     std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))));
        return;
      }
      case ')':  // EMPTY_TUPLE
        Push(NewContainer(PickleKind::kTuple, {}));
        return;
      case 't':  // TUPLE
        Push(NewContainer(PickleKind::kTuple, PopMark()));
        return;
      case 0x85:  // TUPLE1
      case 0x86:  // TUPLE2
      case 0x87: {  // TUPLE3
        const size_t n = op - 0x84u;
        std::vector<int32_t> items(n);
        for (size_t i = n; i-- > 0;) items[i] = Pop();
        Push(NewContainer(PickleKind::kTuple, std::move(items)));
        return;
      }
      case ']':  // EMPTY_LIST
        Push(NewContainer(PickleKind::kList, {}));
        return;
      case 'l':  // LIST
        Push(NewContainer(PickleKind::kList, PopMark()));
        return;
      case 'a': {  // APPEND
        const int32_t value = Pop();
        Expect(Top(), PickleKind::kList, "APPEND target").items.push_back(value);
        return;
      }
      case 'e': {  // APPENDS
        const std::vector<int32_t> values = PopMark();
        PickleObject& list = Expect(Top(), PickleKind::kList, "APPENDS target");
        list.items.insert(list.items.end(), values.begin(), values.end());
        return;
      }
      case '}':  // EMPTY_DICT
        Push(NewContainer(PickleKind::kDict, {}));
        return;
      case 'd': {  // DICT
        std::vector<int32_t> pairs = PopMark();
        if (pairs.size() % 2 != 0) Fail("DICT with an odd number of values");
        Push(NewContainer(PickleKind::kDict, std::move(pairs)));
        return;
      }
      case 's': {  // SETITEM
        const int32_t value = Pop();
        const int32_t key = Pop();
        AddToDict(Top(), {key, value});
        return;
      }
      case 'u': {  // SETITEMS
        const std::vector<int32_t> pairs = PopMark();
        AddToDict(Top(), pairs);
        return;
      }
      case 'q':  // BINPUT
        Memoize(LittleEndian(1), Top());
        return;
      case 'r':  // LONG_BINPUT
        Memoize(LittleEndian(4), Top());
        return;
      case 0x94:  // MEMOIZE
        Memoize(memo_.size(), Top());
        return;
      case 'h':  // BINGET
        Push(Recall(LittleEndian(1)));
        return;
      case 'j':  // LONG_BINGET
        Push(Recall(LittleEndian(4)));
        return;
      case 'c': {  // GLOBAL
        const std::string module = Line();
        const std::string name = Line();
        Global(module, name);
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::string name = Expect(Pop(), PickleKind::kString, "STACK_GLOBAL name").text;
        const std::string module = Expect(Pop(), PickleKind::kString, "STACK_GLOBAL module").text;
        Global(module, name);
        return;
      }
      case 'R':  // REDUCE
        Reduce();
        return;
      case 'b': {  // BUILD: only an OrderedDict's attributes (_metadata), ignored
        Pop();
        const PickleObject& target = At(Top());
        if (target.kind != PickleKind::kDict) {
          Fail(std::string("BUILD on a ") + ToString(target.kind) +
               " (only a dict's attributes may be set)." + kStateDictHint);
        }
        return;
      }
      case 'Q':  // BINPERSID
        PersistentId();
        return;
      case 0x81:  // NEWOBJ
      case 0x92:  // NEWOBJ_EX
      case 'i':   // INST
      case 'o':   // OBJ
        Fail("refuses to construct an object." + std::string(kStateDictHint));
      default:
        break;
    }
    static const char kHex[] = "0123456789abcdef";
    std::string code = "0x";
    code += kHex[op >> 4];
    code += kHex[op & 15];
    Fail("unsupported opcode " + code +
         (op >= 0x20 && op < 0x7f ? std::string(" ('") + static_cast<char>(op) + "')" : ""));
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_at_ = 0;
  std::vector<PickleObject> objects_;
  std::vector<int32_t> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, int32_t> memo_;
  std::map<std::string, int32_t> storages_;
};

}  // namespace

const char* ToString(PickleKind kind) {
  switch (kind) {
    case PickleKind::kNone: return "None";
    case PickleKind::kBool: return "bool";
    case PickleKind::kInt: return "int";
    case PickleKind::kFloat: return "float";
    case PickleKind::kString: return "str";
    case PickleKind::kBytes: return "bytes";
    case PickleKind::kTuple: return "tuple";
    case PickleKind::kList: return "list";
    case PickleKind::kDict: return "dict";
    case PickleKind::kGlobal: return "global";
    case PickleKind::kStorage: return "storage";
    case PickleKind::kTensor: return "tensor";
  }
  return "?";
}

const char* StorageTypeName(StorageType type) {
  for (const StorageClass& c : kStorageClasses) {
    if (c.type == type) return c.name;
  }
  return "?";
}

size_t StorageElementBytes(StorageType type) {
  for (const StorageClass& c : kStorageClasses) {
    if (c.type == type) return c.bytes;
  }
  return 0;
}

PickleData ParseTorchPickle(const uint8_t* data, size_t size) {
  return Unpickler(data, size).Run();
}

}  // namespace diffpool::converter
