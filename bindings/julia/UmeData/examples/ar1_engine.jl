# ar1_engine.jl — a Julia simulator driven by umedata's generation engine (issue 13): the
# AR(1) economy of examples_c/plugin_ar1.c, y_t = rho y_{t-1} + sigma e_t (T = 100, H = 20;
# draws with rho > 0.98 rejected and redrawn), under the same name, description and seed,
# so its dataset equals, value for value, `umedata generate --sim libar1.so -n N -o c.zarr`
# (tests/python/test_julia_engine_ctypes.py proves that by replaying these calls).
#
#   UMEDATA_LIB=/path/to/libumedata.so julia --project=bindings/julia/UmeData \
#       bindings/julia/UmeData/examples/ar1_engine.jl OUT.zarr [N=3000] [THREADS=1]
#
# Needs Julia >= 1.9 (the engine calls f from its own threads, which Julia adopts).
using UmeData
using Random: randn!

const NT, NH = 100, 20

out = get(ARGS, 1, "ar1.zarr")
n = parse(Int, get(ARGS, 2, "3000"))
threads = parse(Int, get(ARGS, 3, "1"))

sim = Simulator("ar1", "1.0"; T = NT, H = NH,
                params = [("rho", 0.0, 0.99), ("sigma", 0.1, 1.0)],   # defaults: the midpoints
                shocks = [("eps", 1.0)], obs = ["y"], reject_reasons = [:near_unit_root])
cfg = GenConfig(seed = 42, samples = n, threads = threads)

# f(i, theta, rng, traj, irfs, shocks): traj (T, n_obs), irfs (n_shocks, H+1, n_obs) and
# shocks (T, n_shocks) are views of the engine's buffers, zero on entry; no I/O in here.
summary = generate(out, sim, cfg) do i, theta, rng, traj, irfs, shocks
    rho, sigma = theta
    rho > 0.98 && return :near_unit_root     # reject: redrawn from the same stream, counted
    randn!(rng, shocks)                      # the sample's own stream, as the C plugin draws
    y = 0.0
    for t in 1:NT
        y = rho * y + sigma * shocks[t, 1]
        traj[t, 1] = y
    end
    irfs[1, 1, 1] = sigma
    for h in 2:NH+1
        irfs[1, h, 1] = irfs[1, h-1, 1] * rho
    end
    return nothing                           # accept
end

println("ar1_engine: wrote ", summary.written, " samples of ar1 to ", out, " (",
        summary.rejections[:near_unit_root], " draws rejected as near_unit_root)")
close(cfg)
close(sim)
