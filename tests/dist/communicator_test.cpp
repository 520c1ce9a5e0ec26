// The collectives built on a Communicator's own (dist/communicator.h), on ranks that are threads of
// this process: allgather_strings gives every rank every rank's string, whatever their lengths and
// bytes. (Through MPI: tests/dist/data_parallel_test.cpp, where the trainer lists every rank.)
#include <gtest/gtest.h>

#include <barrier>
#include <string>
#include <thread>
#include <vector>

#include "cuseg/dist/communicator.h"

namespace cuseg {
namespace {

// N ranks as N threads: each collective is a write into the rank's slot, a barrier, a read of
// every slot (sums in rank order), a barrier.
struct Slots {
  explicit Slots(int n) : ranks(n), barrier(n), words(size_t(n)), buffers(size_t(n)) {}
  int ranks;
  std::barrier<> barrier;
  std::vector<uint64_t> words;
  std::vector<std::vector<double>> buffers;
};

class ThreadRank final : public Communicator {
 public:
  ThreadRank(Slots& slots, int rank) : slots_(slots), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return slots_.ranks; }
  int local_rank() const override { return rank_; }
  int local_size() const override { return slots_.ranks; }
  std::string description() const override { return "threads"; }
  void allreduce_sum(float*, size_t, const std::string&) override { ADD_FAILURE() << "not used"; }
  void allreduce_sum(double* data, size_t count, const std::string&) override {
    slots_.buffers[size_t(rank_)].assign(data, data + count);
    slots_.barrier.arrive_and_wait();
    for (size_t i = 0; i < count; ++i) {
      data[i] = 0;
      for (const std::vector<double>& b : slots_.buffers) data[i] += b.at(i);
    }
    slots_.barrier.arrive_and_wait();
  }
  std::vector<uint64_t> allgather(uint64_t value, const std::string&) override {
    slots_.words[size_t(rank_)] = value;
    slots_.barrier.arrive_and_wait();
    std::vector<uint64_t> all = slots_.words;
    slots_.barrier.arrive_and_wait();
    return all;
  }
  void broadcast(void*, size_t, int, const std::string&) override { ADD_FAILURE() << "not used"; }

 private:
  Slots& slots_;
  int rank_;
};

// What each of the ranks gets from allgather_strings of `values` (rank r giving values[r]).
std::vector<std::vector<std::string>> gathered(const std::vector<std::string>& values) {
  Slots slots(int(values.size()));
  std::vector<std::vector<std::string>> got(values.size());
  std::vector<std::thread> threads;
  for (size_t r = 0; r < values.size(); ++r)
    threads.emplace_back([&, r] {
      ThreadRank rank(slots, int(r));
      got[r] = allgather_strings(rank, values[r], "the test's strings");
    });
  for (std::thread& t : threads) t.join();
  return got;
}

TEST(Communicator, AllgatherOfStringsGivesEveryRankEveryRanksStringInRankOrder) {
  static constexpr char kBytes[] = "λ \xff\x01 and a NUL \0 inside";
  const std::vector<std::string> values = {"cpu: fast path (oneDNN 2.6.3 on avx512_core_amx), 1 threads", "",
                                           std::string(kBytes, sizeof kBytes - 1), "cuda:1"};
  for (const std::vector<std::string>& got : gathered(values)) EXPECT_EQ(got, values);
  const std::vector<std::string> empty = {"", "", ""};
  for (const std::vector<std::string>& got : gathered(empty)) EXPECT_EQ(got, empty);
  EXPECT_EQ(allgather_strings(*single_process(), "alone", "one"), std::vector<std::string>{"alone"});
}

}  // namespace
}  // namespace cuseg
