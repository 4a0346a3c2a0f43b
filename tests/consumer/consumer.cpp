// The same as consumer.c through the C++ wrapper (C++17).
#include <cstdio>
#include <vector>

#include <umedata.hpp>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  try {
    umedata::World world("tiny", 6, 4, 2, 2, 1, 2);
    umedata::Options opts;
    opts.overwrite = 1;
    umedata::Writer w = umedata::Writer::create(argv[1], world, opts);
    for (std::uint64_t i = 0; i < 6; i++) {
      std::vector<double> theta(2, double(i)), traj(8, 1.5 * double(i)), irfs(6, 0.5),
          shocks(4, -1.0);
      w.write_sample(i, theta, traj, irfs, shocks);
    }
    const umedata::Summary s = w.finalize();
    const umedata::Reader r = umedata::Reader::open(argv[1], "tiny");
    std::vector<double> th, tr, ir, sh;
    r.read(5, 1, th, tr, ir, sh);
    if (tr.size() != 8 || tr[7] != 7.5 || s.samples_written != 6) {
      std::fprintf(stderr, "consumer_cpp: wrong data read back\n");
      return 1;
    }
    std::printf("consumer_cpp: umedata %s, %llu samples\n", umedata::version().c_str(),
                static_cast<unsigned long long>(s.samples_written));
  } catch (const umedata::Error &e) {
    std::fprintf(stderr, "consumer_cpp: %s (status %d)\n", e.what(), static_cast<int>(e.status()));
    return 1;
  }
  return 0;
}
