// palette.txt and classes.txt, read through a one-sample dataset folder: the first byte picks which
// file the rest becomes (even: palette.txt, odd: classes.txt), then the sample is loaded. Twice,
// on a zeroed and on a dirtied heap (fuzz_util.h).
#include <filesystem>
#include <fstream>

#include "cuseg/data/folder_dataset.h"
#include "fuzz/fuzz_util.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const fs::path root = [] {
    const fs::path r = fs::path(cuseg::fuzz::scratch_dir()) / "dataset";
    fs::create_directories(r / "train/images");
    fs::create_directories(r / "train/masks");
    cuseg::write_png((r / "train/images/a.png").string(), cuseg::Tensor::zeros(cuseg::Shape{2, 2, 3}, cuseg::DType::U8));
    // A colour mask: usable with a palette holding black and red.
    std::vector<uint8_t> rgb = {0, 0, 0, 255, 0, 0, 255, 0, 0, 0, 0, 0};
    cuseg::write_png((r / "train/masks/a.png").string(), cuseg::Tensor::from_vector(rgb, cuseg::Shape{2, 2, 3}));
    return r;
  }();
  fs::remove(root / "palette.txt");
  fs::remove(root / "classes.txt");
  {
    std::ofstream f(root / (data[0] % 2 ? "classes.txt" : "palette.txt"), std::ios::binary);
    f.write(reinterpret_cast<const char*>(data + 1), std::streamsize(size - 1));
  }
  cuseg::fuzz::read_clean_and_dirty([&] {
    try {
      cuseg::FolderDatasetConfig c;
      c.root = root.string();
      cuseg::FolderDataset d(c);
      std::string out = cuseg::str_cat(d.classes(), " classes; ");
      for (const std::string& name : d.class_names()) out += name + "; ";
      for (const auto& colour : d.palette()) out += cuseg::str_cat(int(colour[0]), " ", int(colour[1]), " ", int(colour[2]), "; ");
      const std::optional<cuseg::Sample> s = d.load(0);
      if (s)
        out += s->image.str() + " " + std::to_string(cuseg::fuzz::hash_bytes(s->image.raw_data(), s->image.nbytes())) + " " +
               std::to_string(cuseg::fuzz::hash_bytes(s->labels.raw_data(), s->labels.nbytes()));
      return out;
    } catch (const cuseg::Error& e) {
      return std::string(e.what());
    }
  });
  return 0;
}
