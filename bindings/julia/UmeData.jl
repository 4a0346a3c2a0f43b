# UmeData.jl — Julia bindings of the umedata C API (include/umedata.h) by plain `ccall`.
#
# No build step: include this file, point it at the shared library and go.
#
#   ENV["UMEDATA_LIB"] = "/opt/umedata/lib/libumedata.so"   # before loading; default "libumedata"
#   include("UmeData.jl"); using .UmeData
#   w = Writer("runs/v1.zarr", "nk"; n_samples = 100_000, T = 200, H = 40, n_params = 8,
#              n_shocks = 3, n_obs = 3, param_names = ["beta", "sigma", ...],
#              chunk_samples = 512, overwrite = true)   # options: keyword arguments
#   for i in 0:99_999                       # sample ids start at 0, as stored
#       theta, traj, irfs, shocks = simulate(i)  # Vector, Matrix (T, n_obs), Array (n_shocks, H+1, n_obs), Matrix (T, n_shocks)
#       write_sample!(w, i, theta, traj, irfs, shocks)
#   end
#   summary = finalize!(w); close(w)        # close is optional: a finalizer frees the handle
#
# Conventions
# - Options are keyword arguments of Writer. They reach C through the opaque, growable
#   ume_writer_config (ume_writer_config_new, one ume_writer_config_set_* call per option,
#   ume_writer_create_with_config, ume_writer_config_free), never through the frozen
#   by-value ume_writer_options struct; a bad value throws UmeError with the setter's
#   message (e.g. "ume_writer_config_set_codec: codec 9 is not valid ...").
# - Writer and Reader first check that the loaded library serves this file: the same major
#   version, a minor >= VERSION_MINOR (README, "ABI policy"); else UmeError 7002 naming both.
# - Arrays are passed as they are, column-major (UME_LAYOUT_F), no copy, no transpose:
#   theta::Vector (n_params), traj::Matrix (T, n_obs), irfs::Array{_,3} (n_shocks, H+1, n_obs),
#   shocks::Matrix (T, n_shocks); Float64 or Float32 (all four the same). Shapes are
#   checked here (a transposed traj throws DimensionMismatch) before the C call.
# - Sample ids are the dataset's, 0 .. n_samples-1.
# - Failing C calls throw UmeError(status, message); the message is read on the same
#   thread right after the failing call.
# - Writer and Reader hold a C handle, released by close(...) or, failing that, by a
#   finalizer. One Writer may be shared by many threads (Threads.@threads) for write_sample!.
#
# Every `ccall` is on one line, `ccall((:symbol, libumedata), Ret, (ArgTypes...), args...)`:
# tests/python/test_julia_ctypes.py parses these lines, checks them against the C header
# and replays the same calls through Python ctypes.
module UmeData

export Writer, Reader, UmeError, write_sample!, finalize!, read_sample, read_samples,
       samples_written, is_written, world_shape, version, check_version, LAYOUT_C, LAYOUT_F

const libumedata = get(ENV, "UMEDATA_LIB", "libumedata")

const UME_OK = Cint(0)
const LAYOUT_C = UInt32(1)   # UME_LAYOUT_C
const LAYOUT_F = UInt32(2)   # UME_LAYOUT_F
const CODEC_BLOSC_LZ4 = UInt32(0)
const CODEC_BLOSC_ZSTD = UInt32(1)
const CODEC_ZSTD = UInt32(2)
const CODEC_NONE = UInt32(3)
# The header this file was written against (UME_VERSION_MAJOR/MINOR).
const VERSION_MAJOR = UInt32(0)
const VERSION_MINOR = UInt32(3)
# On/off options of ume_writer_config_set_flag (UME_CONFIG_*).
const CONFIG_OVERWRITE = UInt32(1)
const CONFIG_ALLOW_NONFINITE = UInt32(2)
const CONFIG_CHECKSUM = UInt32(3)
const CONFIG_FSYNC = UInt32(4)
const CONFIG_REWRITE = UInt32(5)

# ---- C structs (same fields, same order as include/umedata.h) ----------------------------

struct WorldDesc  # C: ume_world_desc
    world_id::Ptr{Cchar}
    n_samples::UInt64
    T::UInt32
    H::UInt32
    n_params::UInt32
    n_shocks::UInt32
    n_obs::UInt32
    param_names::Ptr{Ptr{Cchar}}
    shock_names::Ptr{Ptr{Cchar}}
    obs_names::Ptr{Ptr{Cchar}}
end

struct WorldShape  # C: ume_world_shape
    n_samples::UInt64
    chunk_samples::UInt64
    T::UInt32
    H::UInt32
    n_params::UInt32
    n_shocks::UInt32
    n_obs::UInt32
end

struct ArrayStats  # C: ume_array_stats
    raw_bytes::UInt64
    stored_bytes::UInt64
    ratio::Float64
end

struct Summary  # C: ume_summary
    n_samples::UInt64
    samples_written::UInt64
    theta::ArrayStats
    trajectories::ArrayStats
    irfs::ArrayStats
    shocks::ArrayStats
    chunks_stored_early::UInt64
end

# ---- errors ------------------------------------------------------------------------------

"""A failed umedata call: `status` (7001–7099, see include/umedata.h) and the message."""
struct UmeError <: Exception
    status::Int
    msg::String
end

status_string(st::Integer) = unsafe_string(ccall((:ume_status_string, libumedata), Cstring, (UInt32,), st))
Base.showerror(io::IO, e::UmeError) = print(io, "UmeError ", e.status, " (", status_string(e.status), "): ", e.msg)

"""The library version, "MAJOR.MINOR.PATCH"."""
version() = unsafe_string(ccall((:ume_version, libumedata), Cstring, ()))

function check(st::Cint)
    st == UME_OK && return nothing
    msg = unsafe_string(ccall((:ume_last_error_message, libumedata), Cstring, ()))
    throw(UmeError(Int(st), msg))
end

"""True if a library of version `v` ("MAJOR.MINOR.PATCH") serves code written against
header version major.minor: the same major, a minor at least the header's."""
function version_compatible(v::AbstractString, major::Integer, minor::Integer)
    m = match(r"^([0-9]{1,9})\.([0-9]{1,9})(\.|$)", v)
    m === nothing && return false
    return parse(Int, m[1]) == major && parse(Int, m[2]) >= minor
end

"""Throws UmeError(7002, ...) unless the loaded library serves this file (Writer and
Reader call it)."""
function check_version()
    v = version()
    version_compatible(v, VERSION_MAJOR, VERSION_MINOR) && return nothing
    throw(UmeError(7002, "umedata library version $v does not serve UmeData.jl, written for " *
                         "$VERSION_MAJOR.$VERSION_MINOR (expected major $VERSION_MAJOR and minor >= $VERSION_MINOR)"))
end

# A ume_writer_config holding the options (every setter called, each checks its value);
# the caller frees it with ume_writer_config_free. Freed here if a setter fails.
function writer_config(codec, clevel, chunk_samples, inner_chunk_samples, n_threads,
                       max_open_chunks, overwrite, allow_nonfinite, checksum, fsync, rewrite,
                       zarr_format, claim_lease)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ume_writer_config_new, libumedata), Cint, (Ref{Ptr{Cvoid}},), out))
    cfg = out[]
    try
        check(ccall((:ume_writer_config_set_codec, libumedata), Cint, (Ptr{Cvoid}, UInt32, Int32), cfg, codec, clevel))
        check(ccall((:ume_writer_config_set_chunking, libumedata), Cint, (Ptr{Cvoid}, UInt64, UInt64), cfg, chunk_samples, inner_chunk_samples))
        check(ccall((:ume_writer_config_set_threads, libumedata), Cint, (Ptr{Cvoid}, UInt32, UInt32), cfg, n_threads, max_open_chunks))
        for (option, on) in ((CONFIG_OVERWRITE, overwrite), (CONFIG_ALLOW_NONFINITE, allow_nonfinite),
                             (CONFIG_CHECKSUM, checksum), (CONFIG_FSYNC, fsync), (CONFIG_REWRITE, rewrite))
            check(ccall((:ume_writer_config_set_flag, libumedata), Cint, (Ptr{Cvoid}, UInt32, UInt8), cfg, option, on))
        end
        check(ccall((:ume_writer_config_set_zarr_format, libumedata), Cint, (Ptr{Cvoid}, UInt32), cfg, zarr_format))
        check(ccall((:ume_writer_config_set_claim_lease, libumedata), Cint, (Ptr{Cvoid}, UInt64), cfg, claim_lease))
    catch
        ccall((:ume_writer_config_free, libumedata), Cvoid, (Ptr{Cvoid},), cfg)
        rethrow()
    end
    return cfg
end

# NUL-terminated copies of `names` and an array of pointers to them (keep both alive).
function c_names(names)
    bufs = [Vector{UInt8}(string(n) * "\0") for n in names]
    ptrs = [Ptr{Cchar}(pointer(b)) for b in bufs]
    return bufs, ptrs
end

# ---- writer ------------------------------------------------------------------------------

"""
    Writer(path, world_id; n_samples, T, H, n_params, n_shocks, n_obs,
           param_names=nothing, shock_names=nothing, obs_names=nothing,
           chunk_samples=0, codec=CODEC_BLOSC_LZ4, clevel=-1, n_threads=0,
           overwrite=false, allow_nonfinite=false, inner_chunk_samples=0,
           max_open_chunks=0, checksum=true, fsync=true, rewrite=false, zarr_format=3,
           claim_lease=0)

Creates world `world_id` in the dataset directory `path` (ume_writer_create_with_config).
The options are those of `ume_writer_config` (include/umedata.h), with its defaults;
`claim_lease` is in seconds (0 = UME_CLAIM_LEASE_SECONDS, else 600). A bad option throws
UmeError naming it before anything is created.
"""
mutable struct Writer
    handle::Ptr{Cvoid}
    dims::NTuple{5,Int}   # T, H, n_params, n_shocks, n_obs

    function Writer(path::AbstractString, world_id::AbstractString; n_samples::Integer,
                    T::Integer, H::Integer, n_params::Integer, n_shocks::Integer, n_obs::Integer,
                    param_names = nothing, shock_names = nothing, obs_names = nothing,
                    chunk_samples::Integer = 0, codec::Integer = CODEC_BLOSC_LZ4,
                    clevel::Integer = -1, n_threads::Integer = 0, overwrite::Bool = false,
                    allow_nonfinite::Bool = false, inner_chunk_samples::Integer = 0,
                    max_open_chunks::Integer = 0, checksum::Bool = true, fsync::Bool = true,
                    rewrite::Bool = false, zarr_format::Integer = 3, claim_lease::Integer = 0)
        check_version()
        cfg = writer_config(codec, clevel, chunk_samples, inner_chunk_samples, n_threads,
                            max_open_chunks, overwrite, allow_nonfinite, checksum, fsync,
                            rewrite, zarr_format, claim_lease)
        id_bufs, _ = c_names([world_id])
        pn = param_names === nothing ? nothing : c_names(param_names)
        sn = shock_names === nothing ? nothing : c_names(shock_names)
        on = obs_names === nothing ? nothing : c_names(obs_names)
        names_ptr(x) = x === nothing ? Ptr{Ptr{Cchar}}(C_NULL) : pointer(x[2])
        out = Ref{Ptr{Cvoid}}(C_NULL)
        st = try
            GC.@preserve id_bufs pn sn on begin
                desc = WorldDesc(Ptr{Cchar}(pointer(id_bufs[1])), n_samples, T, H, n_params, n_shocks,
                                 n_obs, names_ptr(pn), names_ptr(sn), names_ptr(on))
                ccall((:ume_writer_create_with_config, libumedata), Cint, (Cstring, Ref{WorldDesc}, Ptr{Cvoid}, Ref{Ptr{Cvoid}}), path, desc, cfg, out)
            end
        finally
            # the writer copied the config; freeing it keeps the thread's error message
            ccall((:ume_writer_config_free, libumedata), Cvoid, (Ptr{Cvoid},), cfg)
        end
        check(st)
        w = new(out[], (Int(T), Int(H), Int(n_params), Int(n_shocks), Int(n_obs)))
        finalizer(close, w)
        return w
    end
end

"""Releases the writer's handle (ume_writer_free); buffered samples are stored first, but
errors are lost: call finalize! before. Safe to call more than once."""
function Base.close(w::Writer)
    h = w.handle
    w.handle = C_NULL
    h == C_NULL || ccall((:ume_writer_free, libumedata), Cvoid, (Ptr{Cvoid},), h)
    return nothing
end

function check_shapes(dims, theta, traj, irfs, shocks)
    T, H, n_params, n_shocks, n_obs = dims
    size(theta) == (n_params,) || throw(DimensionMismatch("theta has size $(size(theta)), expected (n_params,) = ($n_params,)"))
    size(traj) == (T, n_obs) || throw(DimensionMismatch("traj has size $(size(traj)), expected (T, n_obs) = ($T, $n_obs)"))
    size(irfs) == (n_shocks, H + 1, n_obs) || throw(DimensionMismatch("irfs has size $(size(irfs)), expected (n_shocks, H+1, n_obs) = ($n_shocks, $(H + 1), $n_obs)"))
    size(shocks) == (T, n_shocks) || throw(DimensionMismatch("shocks has size $(size(shocks)), expected (T, n_shocks) = ($T, $n_shocks)"))
    return nothing
end

"""
    write_sample!(w, i, theta, traj, irfs, shocks)

Writes sample `i` (0-based id). Arrays are Float64 or Float32 (column-major, as they are).
"""
function write_sample!(w::Writer, i::Integer, theta::Vector{Float64}, traj::Matrix{Float64},
                       irfs::Array{Float64,3}, shocks::Matrix{Float64})
    check_shapes(w.dims, theta, traj, irfs, shocks)
    st = ccall((:ume_writer_write_sample_f64, libumedata), Cint, (Ptr{Cvoid}, UInt64, UInt32, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t), w.handle, i, LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks))
    check(st)
end

function write_sample!(w::Writer, i::Integer, theta::Vector{Float32}, traj::Matrix{Float32},
                       irfs::Array{Float32,3}, shocks::Matrix{Float32})
    check_shapes(w.dims, theta, traj, irfs, shocks)
    st = ccall((:ume_writer_write_sample_f32, libumedata), Cint, (Ptr{Cvoid}, UInt64, UInt32, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t), w.handle, i, LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks))
    check(st)
end

"""Stores everything buffered and returns the Summary (ume_writer_finalize). Call once,
when no other thread writes; close(w) afterwards (or let the finalizer do it)."""
function finalize!(w::Writer)
    s = Ref{Summary}()
    st = ccall((:ume_writer_finalize, libumedata), Cint, (Ptr{Cvoid}, Ref{Summary}), w.handle, s)
    check(st)
    return s[]
end

# ---- reader ------------------------------------------------------------------------------

"""
    Reader(path, world_id)

Opens a world for reading (ume_reader_open); close(r) or the finalizer releases it.
"""
mutable struct Reader
    handle::Ptr{Cvoid}
    shape::WorldShape

    function Reader(path::AbstractString, world_id::AbstractString)
        check_version()
        out = Ref{Ptr{Cvoid}}(C_NULL)
        st = ccall((:ume_reader_open, libumedata), Cint, (Cstring, Cstring, Ref{Ptr{Cvoid}}), path, world_id, out)
        check(st)
        r = new(out[], WorldShape(0, 0, 0, 0, 0, 0, 0))
        finalizer(close, r)
        r.shape = world_shape(r)
        return r
    end
end

function Base.close(r::Reader)
    h = r.handle
    r.handle = C_NULL
    h == C_NULL || ccall((:ume_reader_free, libumedata), Cvoid, (Ptr{Cvoid},), h)
    return nothing
end

"""The world's dimensions (ume_reader_shape)."""
function world_shape(r::Reader)
    s = Ref{WorldShape}()
    st = ccall((:ume_reader_shape, libumedata), Cint, (Ptr{Cvoid}, Ref{WorldShape}), r.handle, s)
    check(st)
    return s[]
end

function samples_written(r::Reader)
    n = Ref{UInt64}(0)
    st = ccall((:ume_reader_samples_written, libumedata), Cint, (Ptr{Cvoid}, Ref{UInt64}), r.handle, n)
    check(st)
    return Int(n[])
end

function is_written(r::Reader, i::Integer)
    b = Ref{UInt8}(0)
    st = ccall((:ume_reader_is_written, libumedata), Cint, (Ptr{Cvoid}, UInt64, Ref{UInt8}), r.handle, i, b)
    check(st)
    return b[] != 0
end

"""
    read_samples(r, start, count, Float64) -> (theta, traj, irfs, shocks)

Samples start..start+count-1 as arrays (n_params, count), (T, n_obs, count),
(n_shocks, H+1, n_obs, count), (T, n_shocks, count).
"""
function read_samples(r::Reader, start::Integer, count::Integer, ::Type{Float64} = Float64)
    s = r.shape
    theta = Array{Float64}(undef, s.n_params, count)
    traj = Array{Float64}(undef, s.T, s.n_obs, count)
    irfs = Array{Float64}(undef, s.n_shocks, s.H + 1, s.n_obs, count)
    shocks = Array{Float64}(undef, s.T, s.n_shocks, count)
    st = ccall((:ume_reader_read_f64, libumedata), Cint, (Ptr{Cvoid}, UInt64, UInt64, UInt32, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t), r.handle, start, count, LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks))
    check(st)
    return theta, traj, irfs, shocks
end

function read_samples(r::Reader, start::Integer, count::Integer, ::Type{Float32})
    s = r.shape
    theta = Array{Float32}(undef, s.n_params, count)
    traj = Array{Float32}(undef, s.T, s.n_obs, count)
    irfs = Array{Float32}(undef, s.n_shocks, s.H + 1, s.n_obs, count)
    shocks = Array{Float32}(undef, s.T, s.n_shocks, count)
    st = ccall((:ume_reader_read_f32, libumedata), Cint, (Ptr{Cvoid}, UInt64, UInt64, UInt32, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t), r.handle, start, count, LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks))
    check(st)
    return theta, traj, irfs, shocks
end

"""
    read_sample(r, i, T=Float64) -> (theta, traj, irfs, shocks)

Sample `i` (0-based id), shaped as for write_sample!.
"""
function read_sample(r::Reader, i::Integer, ::Type{E} = Float64) where {E<:Union{Float32,Float64}}
    theta, traj, irfs, shocks = read_samples(r, i, 1, E)
    return vec(theta), dropdims(traj; dims = 3), dropdims(irfs; dims = 4), dropdims(shocks; dims = 3)
end

end # module UmeData
