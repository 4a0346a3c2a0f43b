# Tests of the UmeData package, for a machine with Julia and libumedata:
#   UMEDATA_LIB=/path/to/libumedata.so julia --project=bindings/julia/UmeData -e 'using Pkg; Pkg.test()'
# (CI has no Julia: tests/python/test_julia_ctypes.py replays these calls through ctypes.)
using Test
using UmeData
import Random

const T, H, NP, NS, NO = 20, 4, 3, 2, 3

sample(i) = (Float64.(i .+ (1:NP)), [i + t + 100o for t in 1:T, o in 1:NO] .* 1.0,
             [i + s + 10h + 100o for s in 1:NS, h in 1:H+1, o in 1:NO] .* 1.0,
             [i - t - 100s for t in 1:T, s in 1:NS] .* 1.0)

function new_writer(dir; n = 8, kw...)
    Writer(joinpath(dir, "t.zarr"), "w"; n_samples = n, T = T, H = H, n_params = NP, n_shocks = NS,
           n_obs = NO, chunk_samples = 4, overwrite = true, fsync = false, kw...)
end

@testset "UmeData" begin
    @test UmeData.version_compatible(version(), UmeData.VERSION_MAJOR, UmeData.VERSION_MINOR)
    @test CODEC_ZSTD isa UInt32   # exported

    mktempdir() do dir
        # name lists: a short one is a DimensionMismatch (C would read past it), NUL an ArgumentError
        @test_throws DimensionMismatch new_writer(dir; param_names = ["a", "b"])
        @test_throws ArgumentError new_writer(dir; param_names = ["a", "b\0c", "d"])
        @test_throws UmeError new_writer(dir; codec = 9)

        summary = new_writer(dir; param_names = ["a", "b", "c"]) do w
            @test occursin("open", sprint(show, w))
            theta, traj, irfs, shocks = sample(0)
            @test_throws DimensionMismatch write_sample!(w, 0, theta, permutedims(traj), irfs, shocks)
            @test_throws DimensionMismatch write_sample!(w, 0, theta[1:2], traj, irfs, shocks)
            write_sample!(w, 0, theta, traj, irfs, shocks)
            # views, transpose, adjoint, mixed element types: copied / converted
            theta, traj, irfs, shocks = sample(1)
            write_sample!(w, 1, view(theta, :), permutedims(traj)', irfs, Float32.(shocks))
            theta, traj, irfs, shocks = sample(2)
            big = cat(irfs, irfs; dims = 4)
            write_sample!(w, 2, theta, transpose(permutedims(traj)), view(big, :, :, :, 2), shocks)
            for i in 3:7
                write_sample!(w, i, map(Float32, sample(i))...)
            end
            @test_throws UmeError write_sample!(w, 8, sample(0)...)   # ids are 0 .. n_samples-1
        end
        @test summary.samples_written == 8
        @test occursin("8 of 8", sprint(show, summary))

        # the do-block form closes the writer even when the block throws
        local kept
        @test_throws ErrorException new_writer(dir) do w
            kept = w
            write_sample!(w, 0, sample(0)...)
            error("simulator failed")
        end
        @test !isopen(kept)
        @test_throws ArgumentError write_sample!(kept, 1, sample(1)...)

        new_writer(dir) do w
            for i in 0:7
                write_sample!(w, i, sample(i)...)
            end
        end
        Reader(joinpath(dir, "t.zarr"), "w") do r
            @test samples_written(r) == 8
            @test is_written(r, 7)
            @test occursin("T = 20", sprint(show, world_shape(r)))
            theta, traj, irfs, shocks = read_samples(r, 0, 8)
            @test size(traj) == (T, NO, 8)
            for i in 0:7
                want = sample(i)
                @test theta[:, i+1] == want[1] && traj[:, :, i+1] == want[2]
                @test irfs[:, :, :, i+1] == want[3] && shocks[:, :, i+1] == want[4]
            end
            @test read_sample(r, 3, Float32)[2] == Float32.(sample(3)[2])
            # read buffers in the wrong axis order: DimensionMismatch, not transposed data
            bad = (Array{Float64}(undef, NP, 2), Array{Float64}(undef, NO, T, 2),
                   Array{Float64}(undef, NS, H + 1, NO, 2), Array{Float64}(undef, T, NS, 2))
            @test_throws DimensionMismatch read_samples!(r, 0, bad...)
        end
    end

    # the engine (issue 13): f through the @cfunction trampoline, on the engine's threads
    sim = Simulator("lab", "1.0"; T = 5, H = 3, params = [("a", 0.0, 1.0), ("b", -1.0, 1.0, 0.5, "m")],
                    shocks = [("e1", 1.0), ("e2", 0.5)], obs = ["x", "y", "z"], reject_reasons = [:odd])
    @test_throws UmeError add_param!(sim, "a", 0.0, 1.0)   # repeated name
    if VERSION < UmeData.GENERATE_MIN_JULIA
        mktempdir() do dir
            @test_throws ErrorException generate((a...) -> nothing, joinpath(dir, "g.zarr"), sim, GenConfig(samples = 8))
        end
    else
        mktempdir() do dir
            path = joinpath(dir, "g.zarr")
            rejected = Threads.Atomic{Int}(0)
            s = generate(path, sim, GenConfig(samples = 8, threads = 2)) do i, theta, rng, traj, irfs, shocks
                @assert size(traj) == (5, 3) && size(irfs) == (2, 4, 3) && size(shocks) == (5, 2)
                if theta[1] > 0.9
                    Threads.atomic_add!(rejected, 1)
                    return :odd
                end
                Random.randn!(rng, shocks)
                traj .= i .+ (1:5) .+ 10 .* (0:2)'
                irfs[2, 4, 3] = Random.rand(rng)
                return nothing
            end
            @test s.written == 8 && s.samples_written == 8 && !s.stopped
            @test s.rejections[:odd] == rejected[] == s.rejected
            Reader(path, "lab") do r
                theta, traj, irfs, shocks = read_sample(r, 3)
                @test traj == 3 .+ (1:5) .+ 10 .* (0:2)'
                @test all(!iszero, shocks) && 0 <= irfs[2, 4, 3] < 1
            end
            # f's exception: the run aborts, the original exception is rethrown, resumable
            err = DomainError(2, "model")
            @test_throws DomainError generate((i, a...) -> i == 2 ? throw(err) : nothing, joinpath(dir, "e.zarr"),
                                              sim, GenConfig(samples = 8, threads = 1))
            s = generate((a...) -> nothing, joinpath(dir, "e.zarr"), sim, GenConfig(resume = true))
            @test s.samples_written == 8
            @test_throws ArgumentError generate((a...) -> -1, joinpath(dir, "b.zarr"), sim, GenConfig(samples = 8))
            s = generate((a...) -> nothing, joinpath(dir, "p.zarr"), sim, GenConfig(samples = 8);
                         progress = (done, total, rate) -> done >= 3)
            @test s.stopped && s.written < 8
        end
    end
    close(sim)
end
