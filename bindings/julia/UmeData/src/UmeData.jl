# UmeData — Julia bindings of the umedata C API (include/umedata.h) by plain `ccall`.
#
# A package: `using Pkg; Pkg.develop(path = "bindings/julia/UmeData"); using UmeData`.
# (The old `include("bindings/julia/UmeData.jl"); using .UmeData` still works.)
#
# The library is found when the module is loaded (`__init__`), not when it is precompiled:
#   1. ENV["UMEDATA_LIB"], a path to libumedata.so / .dylib / .dll;
#   2. ENV["UMEDATA_PREFIX"], an install prefix: <prefix>/lib/libumedata.<dlext>;
#   3. "libumedata", found by the system loader (LD_LIBRARY_PATH, the installed prefix).
# Its major.minor is checked against VERSION_MAJOR/VERSION_MINOR, the header this package
# was written for (README, "ABI policy"): a library that does not serve it throws UmeError
# 7002 at load time (and at every Writer/Reader).
#
#   Writer("runs/v1.zarr", "nk"; n_samples = 100_000, T = 200, H = 40, n_params = 8,
#          n_shocks = 3, n_obs = 3, param_names = ["beta", "sigma", ...],
#          chunk_samples = 512, overwrite = true) do w      # finished and closed at the end
#       for i in 0:99_999                      # sample ids are 0-based, as stored
#           theta, traj, irfs, shocks = simulate(i)
#           write_sample!(w, i, theta, traj, irfs, shocks)
#       end
#   end                                        # returns the Summary
#
# Conventions
# - Sample ids are the dataset's: 0-based, 0 .. n_samples-1, in every function.
# - Per sample, arrays are column-major with these shapes: theta (n_params,), traj
#   (T, n_obs), irfs (n_shocks, H+1, n_obs), shocks (T, n_shocks). Any AbstractArray of
#   real numbers is accepted (views, transpose(x), x', Float32/Float64 mixed): a dense
#   Array of the element type is passed as it is, anything else is copied first. All four
#   Float32 -> stored from Float32; otherwise converted to Float64. A wrong shape throws
#   DimensionMismatch before the C call (the C side cannot tell a permuted buffer).
# - Name lists must have exactly n_params / n_shocks / n_obs entries (DimensionMismatch),
#   and no name may contain NUL (ArgumentError).
# - Failing C calls throw UmeError(status, message); the message is read on the same
#   thread right after the failing call.
# - Writer and Reader hold a C handle in an atomic field. close(x) waits for calls in
#   flight on other threads, then frees it; later calls throw ArgumentError. The GC
#   finalizer only frees (it warns if a Writer was never finished); call finish!(w) or
#   use the do-block form to store and see errors.
#
# Form rules (tests/python/test_julia_ctypes.py parses this file, replays it without
# Julia, and its mutation check proves it would catch wrong code): every ccall is on one
# line, `ccall((:symbol, libumedata()), Ret, (ArgTypes...), args...)` or
# `@ccall $(libumedata()).symbol(arg::Type, ...)::Ret`; C mirrors are `struct X  # C: ume_x`.
module UmeData

using Libdl
import Random

export Writer, Reader, UmeError, write_sample!, finish!, read_sample, read_samples,
       read_samples!, read_ids, read_ids!, samples_written, is_written, set_threads!, reader_threads, world_shape, version, check_version,
       LAYOUT_C, LAYOUT_F, CODEC_BLOSC_LZ4, CODEC_BLOSC_ZSTD, CODEC_ZSTD, CODEC_NONE,
       Simulator, add_param!, add_shock!, add_obs!, set_reject_reason!, GenConfig, GenSummary,
       RngRef, generate, generate_prepare, generate_finish, DESIGN_UNIFORM, DESIGN_SOBOL

const UME_OK = Cint(0)
const LAYOUT_C = UInt32(1)   # UME_LAYOUT_C
const LAYOUT_F = UInt32(2)   # UME_LAYOUT_F
const CODEC_BLOSC_LZ4 = UInt32(0)
const CODEC_BLOSC_ZSTD = UInt32(1)
const CODEC_ZSTD = UInt32(2)
const CODEC_NONE = UInt32(3)
# How the engine draws theta (UME_DESIGN_*), GenConfig's `design`.
const DESIGN_UNIFORM = UInt32(0)
const DESIGN_SOBOL = UInt32(1)
# The header this package was written against (UME_VERSION_MAJOR/MINOR).
const VERSION_MAJOR = UInt32(0)
const VERSION_MINOR = UInt32(4)
# On/off options of ume_writer_config_set_flag (UME_CONFIG_*).
const CONFIG_OVERWRITE = UInt32(1)
const CONFIG_ALLOW_NONFINITE = UInt32(2)
const CONFIG_CHECKSUM = UInt32(3)
const CONFIG_FSYNC = UInt32(4)
const CONFIG_REWRITE = UInt32(5)

# ---- the library -------------------------------------------------------------------------

const LIBPATH = Ref{String}("libumedata")

"""The shared library every ccall uses, set by `__init__` (see the top of this file)."""
libumedata() = LIBPATH[]

"""Where the library is: ENV["UMEDATA_LIB"], else ENV["UMEDATA_PREFIX"]/lib, else
"libumedata" for the system loader."""
function find_library()
    lib = get(ENV, "UMEDATA_LIB", "")
    isempty(lib) || return lib
    prefix = get(ENV, "UMEDATA_PREFIX", "")
    isempty(prefix) || return joinpath(prefix, "lib", "libumedata." * Libdl.dlext)
    return "libumedata"
end

function __init__()
    LIBPATH[] = find_library()
    if Libdl.dlopen(LIBPATH[]; throw_error = false) === nothing
        @warn "UmeData: cannot load the umedata library \"$(LIBPATH[])\"; set ENV[\"UMEDATA_LIB\"] " *
              "to the path of libumedata.$(Libdl.dlext) (or UMEDATA_PREFIX to its install prefix) " *
              "and reload; every call fails until then"
        return nothing
    end
    check_version()
    return nothing
end

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

# Decimal, named fields (the default show prints the UInt fields in hex).
function Base.show(io::IO, s::WorldShape)
    print(io, "WorldShape(n_samples = ", Int(s.n_samples), ", chunk_samples = ", Int(s.chunk_samples),
          ", T = ", Int(s.T), ", H = ", Int(s.H), ", n_params = ", Int(s.n_params),
          ", n_shocks = ", Int(s.n_shocks), ", n_obs = ", Int(s.n_obs), ")")
end

function Base.show(io::IO, a::ArrayStats)
    print(io, "ArrayStats(raw_bytes = ", Int(a.raw_bytes), ", stored_bytes = ", Int(a.stored_bytes),
          ", ratio = ", round(a.ratio; digits = 3), ")")
end

function Base.show(io::IO, s::Summary)
    print(io, "Summary(", Int(s.samples_written), " of ", Int(s.n_samples), " samples written, ",
          "chunks_stored_early = ", Int(s.chunks_stored_early), ")")
end

function Base.show(io::IO, ::MIME"text/plain", s::Summary)
    println(io, "UmeData.Summary: ", Int(s.samples_written), " of ", Int(s.n_samples), " samples written")
    for name in (:theta, :trajectories, :irfs, :shocks)
        println(io, "  ", rpad(string(name), 13), getfield(s, name))
    end
    print(io, "  chunks_stored_early = ", Int(s.chunks_stored_early))
end

# ---- errors ------------------------------------------------------------------------------

"""A failed umedata call: `status` (7001–7099, see include/umedata.h) and the message."""
struct UmeError <: Exception
    status::Int
    msg::String
end

status_string(st::Integer) = unsafe_string(@ccall $(libumedata()).ume_status_string(st::UInt32)::Cstring)
Base.showerror(io::IO, e::UmeError) = print(io, "UmeError ", e.status, " (", status_string(e.status), "): ", e.msg)

"""The library version, "MAJOR.MINOR.PATCH"."""
version() = unsafe_string(@ccall $(libumedata()).ume_version()::Cstring)

function check(st::Cint)
    st == UME_OK && return nothing
    msg = unsafe_string(ccall((:ume_last_error_message, libumedata()), Cstring, ()))
    throw(UmeError(Int(st), msg))
end

"""True if a library of version `v` ("MAJOR.MINOR.PATCH") serves code written against
header version major.minor: the same major, a minor at least the header's."""
function version_compatible(v::AbstractString, major::Integer, minor::Integer)
    m = match(r"^([0-9]{1,9})\.([0-9]{1,9})(\.|$)", v)
    m === nothing && return false
    return parse(Int, m[1]) == major && parse(Int, m[2]) >= minor
end

"""Throws UmeError(7002, ...) unless the loaded library serves this package (`__init__`,
Writer and Reader call it)."""
function check_version()
    v = version()
    version_compatible(v, VERSION_MAJOR, VERSION_MINOR) && return nothing
    throw(UmeError(7002, "umedata library version $v ($(libumedata())) does not serve UmeData, written for " *
                         "$VERSION_MAJOR.$VERSION_MINOR (expected major $VERSION_MAJOR and minor >= $VERSION_MINOR)"))
end

# ---- argument checks ---------------------------------------------------------------------

# Throws DimensionMismatch unless size(x) == expected; `label` names the axes, e.g.
# "(T, n_obs)" (the replay test checks that the label and the expression agree).
function check_size(what::AbstractString, x::AbstractArray, expected::Tuple, label::AbstractString)
    want = map(Int, expected)
    size(x) == want || throw(DimensionMismatch("$what has size $(size(x)), expected $label = $want"))
    return nothing
end

# A NUL-terminated copy of `s`; ArgumentError if it contains NUL (C would cut it there).
function c_string(what::AbstractString, s)
    str = String(string(s))
    occursin('\0', str) && throw(ArgumentError("$what = $(repr(str)) contains a NUL character; names must not"))
    return Vector{UInt8}(str * "\0")
end

# NUL-terminated copies of `names` and an array of pointers to them (keep both alive).
# C reads exactly `n` pointers: a list of another length throws DimensionMismatch.
function c_names(what::AbstractString, names, count_name::AbstractString, n::Integer)
    length(names) == n || throw(DimensionMismatch("$what has $(length(names)) names, expected $count_name = $n"))
    bufs = [c_string("$what[$k]", name) for (k, name) in enumerate(names)]
    ptrs = [Ptr{Cchar}(pointer(b)) for b in bufs]
    return bufs, ptrs
end

names_ptr(x) = x === nothing ? Ptr{Ptr{Cchar}}(C_NULL) : pointer(x[2])

# A dense Array{E} with the values of x: x itself if it already is one (or a contiguous
# view of an Array{E}), else a copy in column-major order (views with gaps, transpose, x',
# other element types).
function contiguous(x::AbstractArray)
    stride = 1
    for d in 1:ndims(x)
        size(x, d) == 1 || strides(x)[d] == stride || return false
        stride *= size(x, d)
    end
    return true
end
dense(::Type{E}, x::Array{E}) where {E} = x
dense(::Type{E}, x::AbstractArray) where {E} = (x isa SubArray{E,<:Any,<:Array{E}} && contiguous(x)) ? x : Array{E}(x)

# ---- handles -----------------------------------------------------------------------------

# Every C call on a handle runs inside with_handle: it counts itself in `users` and
# re-reads the handle, so close() (which swaps the handle to NULL, then waits for
# `users` to drop to 0) never frees a handle another thread is using.
function with_handle(f, x, what::AbstractString)
    h = @atomic x.handle
    h == C_NULL && throw(ArgumentError("$what is closed"))
    Threads.atomic_add!(x.users, 1)
    try
        h = @atomic x.handle
        h == C_NULL && throw(ArgumentError("$what is closed"))
        return f(h)
    finally
        Threads.atomic_sub!(x.users, 1)
    end
end

# Swaps the handle to NULL (once), waits for calls in flight, returns the old handle.
function take_handle!(x)
    h = @atomicswap x.handle = C_NULL
    h == C_NULL && return h
    while x.users[] != 0
        yield()
    end
    return h
end

# ---- writer ------------------------------------------------------------------------------

# A ume_writer_config holding the options (every setter called, each checks its value);
# the caller frees it with ume_writer_config_free. Freed here if a setter fails.
function writer_config(codec, clevel, chunk_samples, inner_chunk_samples, n_threads,
                       max_open_chunks, overwrite, allow_nonfinite, checksum, fsync, rewrite,
                       zarr_format, claim_lease)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ume_writer_config_new, libumedata()), Cint, (Ref{Ptr{Cvoid}},), out))
    cfg = out[]
    try
        check(ccall((:ume_writer_config_set_codec, libumedata()), Cint, (Ptr{Cvoid}, UInt32, Int32), cfg, codec, clevel))
        check(ccall((:ume_writer_config_set_chunking, libumedata()), Cint, (Ptr{Cvoid}, UInt64, UInt64), cfg, chunk_samples, inner_chunk_samples))
        check(ccall((:ume_writer_config_set_threads, libumedata()), Cint, (Ptr{Cvoid}, UInt32, UInt32), cfg, n_threads, max_open_chunks))
        for (option, on) in ((CONFIG_OVERWRITE, overwrite), (CONFIG_ALLOW_NONFINITE, allow_nonfinite),
                             (CONFIG_CHECKSUM, checksum), (CONFIG_FSYNC, fsync), (CONFIG_REWRITE, rewrite))
            check(ccall((:ume_writer_config_set_flag, libumedata()), Cint, (Ptr{Cvoid}, UInt32, UInt8), cfg, option, on))
        end
        check(ccall((:ume_writer_config_set_zarr_format, libumedata()), Cint, (Ptr{Cvoid}, UInt32), cfg, zarr_format))
        check(ccall((:ume_writer_config_set_claim_lease, libumedata()), Cint, (Ptr{Cvoid}, UInt64), cfg, claim_lease))
    catch
        ccall((:ume_writer_config_free, libumedata()), Cvoid, (Ptr{Cvoid},), cfg)
        rethrow()
    end
    return cfg
end

"""
    Writer(path, world_id; n_samples, T, H, n_params, n_shocks, n_obs,
           param_names=nothing, shock_names=nothing, obs_names=nothing,
           chunk_samples=0, codec=CODEC_BLOSC_LZ4, clevel=-1, n_threads=0,
           overwrite=false, allow_nonfinite=false, inner_chunk_samples=0,
           max_open_chunks=0, checksum=true, fsync=true, rewrite=false, zarr_format=3,
           claim_lease=0)
    Writer(f, path, world_id; ...)   # do-block form

Creates world `world_id` in the dataset directory `path` (ume_writer_create_with_config)
for samples with 0-based ids 0 .. n_samples-1. The options are those of
`ume_writer_config` (include/umedata.h), with its defaults; `codec` is one of the exported
`CODEC_*`; `claim_lease` is in seconds (0 = UME_CLAIM_LEASE_SECONDS, else 600).
Throws DimensionMismatch if a name list does not have n_params / n_shocks / n_obs
entries, ArgumentError for a name with NUL, UmeError for a bad option (before anything
is created).

The do-block form `Writer(path, world_id; ...) do w ... end` runs the block, then
`finish!(w)` and `close(w)`, and returns the Summary; if the block throws, what was
written is still stored (finish!, its own error dropped), the writer is closed, and the
block's error is rethrown.

Thread safety: write_sample! may be called from many threads at once on one Writer.
"""
mutable struct Writer
    @atomic handle::Ptr{Cvoid}
    users::Threads.Atomic{Int}
    @atomic finished::Bool
    dims::NamedTuple{(:n_samples, :T, :H, :n_params, :n_shocks, :n_obs),NTuple{6,Int}}
    world_id::String

    function Writer(path::AbstractString, world_id::AbstractString; n_samples::Integer,
                    T::Integer, H::Integer, n_params::Integer, n_shocks::Integer, n_obs::Integer,
                    param_names = nothing, shock_names = nothing, obs_names = nothing,
                    chunk_samples::Integer = 0, codec::Integer = CODEC_BLOSC_LZ4,
                    clevel::Integer = -1, n_threads::Integer = 0, overwrite::Bool = false,
                    allow_nonfinite::Bool = false, inner_chunk_samples::Integer = 0,
                    max_open_chunks::Integer = 0, checksum::Bool = true, fsync::Bool = true,
                    rewrite::Bool = false, zarr_format::Integer = 3, claim_lease::Integer = 0)
        check_version()
        # the argument checks come first: nothing to free if they throw
        id_buf = c_string("world_id", world_id)
        pn = param_names === nothing ? nothing : c_names("param_names", param_names, "n_params", n_params)
        sn = shock_names === nothing ? nothing : c_names("shock_names", shock_names, "n_shocks", n_shocks)
        on = obs_names === nothing ? nothing : c_names("obs_names", obs_names, "n_obs", n_obs)
        cfg = writer_config(codec, clevel, chunk_samples, inner_chunk_samples, n_threads,
                            max_open_chunks, overwrite, allow_nonfinite, checksum, fsync,
                            rewrite, zarr_format, claim_lease)
        out = Ref{Ptr{Cvoid}}(C_NULL)
        st = try
            GC.@preserve id_buf pn sn on begin
                desc = WorldDesc(Ptr{Cchar}(pointer(id_buf)), n_samples, T, H, n_params, n_shocks, n_obs, names_ptr(pn), names_ptr(sn), names_ptr(on))
                ccall((:ume_writer_create_with_config, libumedata()), Cint, (Cstring, Ref{WorldDesc}, Ptr{Cvoid}, Ref{Ptr{Cvoid}}), path, desc, cfg, out)
            end
        finally
            # the writer copied the config; freeing it keeps the thread's error message
            ccall((:ume_writer_config_free, libumedata()), Cvoid, (Ptr{Cvoid},), cfg)
        end
        check(st)
        dims = (n_samples = Int(n_samples), T = Int(T), H = Int(H), n_params = Int(n_params), n_shocks = Int(n_shocks), n_obs = Int(n_obs))
        w = new(out[], Threads.Atomic{Int}(0), false, dims, String(world_id))
        finalizer(free_unreachable, w)
        return w
    end
end

function Writer(f::Function, path::AbstractString, world_id::AbstractString; kwargs...)
    w = Writer(path, world_id; kwargs...)
    try
        f(w)
        return finish!(w)
    catch
        if !(@atomic w.finished)
            try
                finish!(w)   # keep what was written; the block's error is the one to see
            catch
            end
        end
        rethrow()
    finally
        close(w)
    end
end

# The GC finalizer: only frees. A finished writer is freed (ume_writer_free); an
# unfinished one is discarded (ume_writer_discard: its buffered samples are not stored, so
# no chunk is compressed at this arbitrary moment; a resume writes them again) and
# reported (Core.println: no task switch in a finalizer).
function free_unreachable(w::Writer)
    h = @atomicswap w.handle = C_NULL
    h == C_NULL && return nothing
    if @atomic w.finished
        ccall((:ume_writer_free, libumedata()), Cvoid, (Ptr{Cvoid},), h)
    else
        Core.println(Core.stderr, "UmeData: a Writer of world \"", w.world_id, "\" was garbage-collected ",
                     "without finish!(w): its buffered samples were not stored (resume to write them); ",
                     "call finish!(w) or use Writer(...) do w ... end")
        ccall((:ume_writer_discard, libumedata()), Cvoid, (Ptr{Cvoid},), h)
    end
    return nothing
end

"""
    close(w::Writer)

Releases the writer's handle (ume_writer_free) after calls in flight on other threads
have returned; later calls on `w` throw ArgumentError. A writer not finished stores its
buffered samples first, but errors are lost: call finish!(w) before. Safe to call more
than once.
"""
function Base.close(w::Writer)
    h = take_handle!(w)
    h == C_NULL || ccall((:ume_writer_free, libumedata()), Cvoid, (Ptr{Cvoid},), h)
    return nothing
end

Base.isopen(w::Writer) = (@atomic w.handle) != C_NULL

function Base.show(io::IO, w::Writer)
    d = w.dims
    state = !isopen(w) ? "closed" : (@atomic w.finished) ? "finished" : "open"
    print(io, "UmeData.Writer(\"", w.world_id, "\", ", state, ", n_samples = ", d.n_samples, ", T = ", d.T,
          ", H = ", d.H, ", n_params = ", d.n_params, ", n_shocks = ", d.n_shocks, ", n_obs = ", d.n_obs, ")")
end

function check_shapes(d, theta, traj, irfs, shocks)
    check_size("theta", theta, (d.n_params,), "(n_params,)")
    check_size("traj", traj, (d.T, d.n_obs), "(T, n_obs)")
    check_size("irfs", irfs, (d.n_shocks, d.H + 1, d.n_obs), "(n_shocks, H+1, n_obs)")
    check_size("shocks", shocks, (d.T, d.n_shocks), "(T, n_shocks)")
    return nothing
end

"""
    write_sample!(w, i, theta, traj, irfs, shocks)

Writes sample `i` (0-based id, 0 .. n_samples-1): theta (n_params,), traj (T, n_obs),
irfs (n_shocks, H+1, n_obs), shocks (T, n_shocks), any AbstractArray of reals (copied
unless dense Float32/Float64 arrays). DimensionMismatch for a wrong shape, UmeError from
the library (id out of range, written twice, non-finite values, ...). Thread-safe.
"""
function write_sample!(w::Writer, i::Integer, theta::AbstractVector{<:Real}, traj::AbstractMatrix{<:Real},
                       irfs::AbstractArray{<:Real,3}, shocks::AbstractMatrix{<:Real})
    check_shapes(w.dims, theta, traj, irfs, shocks)
    E = promote_type(eltype(theta), eltype(traj), eltype(irfs), eltype(shocks)) === Float32 ? Float32 : Float64
    write_dense!(w, i, dense(E, theta), dense(E, traj), dense(E, irfs), dense(E, shocks))
end

function write_dense!(w::Writer, i::Integer, theta::AbstractArray{Float64}, traj::AbstractArray{Float64},
                      irfs::AbstractArray{Float64}, shocks::AbstractArray{Float64})
    st = with_handle(w, "Writer") do h
        GC.@preserve theta traj irfs shocks ccall((:ume_writer_write_sample_f64, libumedata()), Cint, (Ptr{Cvoid}, UInt64, UInt32, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t), h, i, LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks))
    end
    check(st)
end

function write_dense!(w::Writer, i::Integer, theta::AbstractArray{Float32}, traj::AbstractArray{Float32},
                      irfs::AbstractArray{Float32}, shocks::AbstractArray{Float32})
    st = with_handle(w, "Writer") do h
        GC.@preserve theta traj irfs shocks ccall((:ume_writer_write_sample_f32, libumedata()), Cint, (Ptr{Cvoid}, UInt64, UInt32, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t), h, i, LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks))
    end
    check(st)
end

"""
    finish!(w) -> Summary

Stores everything buffered and returns the Summary (ume_writer_finalize); errors throw
UmeError. Call once, when no other thread writes; close(w) afterwards (the do-block form
of Writer does both). (Named so as not to be confused with Base.finalize.)
"""
function finish!(w::Writer)
    s = Ref{Summary}()
    st = with_handle(w, "Writer") do h
        ccall((:ume_writer_finalize, libumedata()), Cint, (Ptr{Cvoid}, Ref{Summary}), h, s)
    end
    @atomic w.finished = true
    check(st)
    return s[]
end

Base.@deprecate finalize!(w::Writer) finish!(w)

# ---- reader ------------------------------------------------------------------------------

"""
    Reader(path, world_id)

Opens a world for reading (ume_reader_open); close(r) or the finalizer releases it.
Sample ids are 0-based. Thread-safe for reads.
"""
mutable struct Reader
    @atomic handle::Ptr{Cvoid}
    users::Threads.Atomic{Int}
    shape::WorldShape
    world_id::String

    function Reader(path::AbstractString, world_id::AbstractString)
        check_version()
        out = Ref{Ptr{Cvoid}}(C_NULL)
        st = ccall((:ume_reader_open, libumedata()), Cint, (Cstring, Cstring, Ref{Ptr{Cvoid}}), path, world_id, out)
        check(st)
        r = new(out[], Threads.Atomic{Int}(0), WorldShape(0, 0, 0, 0, 0, 0, 0), String(world_id))
        finalizer(close, r)
        r.shape = world_shape(r)
        return r
    end
end

"""Reader(f, path, world_id): runs f(r) and closes the reader; returns f's value."""
function Reader(f::Function, path::AbstractString, world_id::AbstractString)
    r = Reader(path, world_id)
    try
        return f(r)
    finally
        close(r)
    end
end

"""Releases the reader's handle after calls in flight have returned. Safe to repeat."""
function Base.close(r::Reader)
    h = take_handle!(r)
    h == C_NULL || ccall((:ume_reader_free, libumedata()), Cvoid, (Ptr{Cvoid},), h)
    return nothing
end

Base.isopen(r::Reader) = (@atomic r.handle) != C_NULL

function Base.show(io::IO, r::Reader)
    print(io, "UmeData.Reader(\"", r.world_id, "\", ", isopen(r) ? "open" : "closed", ", ", r.shape, ")")
end

"""The world's dimensions (ume_reader_shape)."""
function world_shape(r::Reader)
    s = Ref{WorldShape}()
    st = with_handle(r, "Reader") do h
        ccall((:ume_reader_shape, libumedata()), Cint, (Ptr{Cvoid}, Ref{WorldShape}), h, s)
    end
    check(st)
    return s[]
end

"""The number of samples stored (ume_reader_samples_written)."""
function samples_written(r::Reader)
    n = Ref{UInt64}(0)
    st = with_handle(r, "Reader") do h
        @ccall $(libumedata()).ume_reader_samples_written(h::Ptr{Cvoid}, n::Ref{UInt64})::Cint
    end
    check(st)
    return Int(n[])
end

"""
    set_threads!(r::Reader, n)

Threads that decode a long range read (ume_reader_set_threads): 0 (the default) =
automatic (one per core; the calling thread alone for a read under about 1 MB), 1 = the
calling thread only (e.g. when Julia already reads from many threads), n = up to n. The
values read do not depend on it. Thread-safe.
"""
function set_threads!(r::Reader, n::Integer)
    st = with_handle(r, "Reader") do h
        @ccall $(libumedata()).ume_reader_set_threads(h::Ptr{Cvoid}, n::UInt32)::Cint
    end
    check(st)
    return r
end

"""The thread count set by [`set_threads!`](@ref) (ume_reader_threads; 0 = automatic)."""
function reader_threads(r::Reader)
    n = Ref{UInt32}(0)
    st = with_handle(r, "Reader") do h
        @ccall $(libumedata()).ume_reader_threads(h::Ptr{Cvoid}, n::Ref{UInt32})::Cint
    end
    check(st)
    return Int(n[])
end

"""True if sample `i` (0-based id) is stored (ume_reader_is_written)."""
function is_written(r::Reader, i::Integer)
    b = Ref{UInt8}(0)
    st = with_handle(r, "Reader") do h
        @ccall $(libumedata()).ume_reader_is_written(h::Ptr{Cvoid}, i::UInt64, b::Ref{UInt8})::Cint
    end
    check(st)
    return b[] != 0
end

"""
    read_samples(r, start, count, E=Float64) -> (theta, traj, irfs, shocks)

Samples with 0-based ids start .. start+count-1 as new arrays of E (Float64 or Float32):
theta (n_params, count), traj (T, n_obs, count), irfs (n_shocks, H+1, n_obs, count),
shocks (T, n_shocks, count): sample `start + k - 1` is `traj[:, :, k]`.
"""
function read_samples(r::Reader, start::Integer, count::Integer, ::Type{E} = Float64) where {E<:Union{Float32,Float64}}
    s = r.shape
    theta = Array{E}(undef, s.n_params, count)
    traj = Array{E}(undef, s.T, s.n_obs, count)
    irfs = Array{E}(undef, s.n_shocks, s.H + 1, s.n_obs, count)
    shocks = Array{E}(undef, s.T, s.n_shocks, count)
    return read_samples!(r, start, theta, traj, irfs, shocks)
end

"""
    read_samples!(r, start, theta, traj, irfs, shocks) -> (theta, traj, irfs, shocks)

Reads samples with 0-based ids start .. start+count-1 into the given Arrays (all Float64
or all Float32), count = size(theta, 2); their shapes must be (n_params, count),
(T, n_obs, count), (n_shocks, H+1, n_obs, count), (T, n_shocks, count), else
DimensionMismatch (a permuted buffer of the right length would get transposed data).
"""
function read_samples!(r::Reader, start::Integer, theta::Array{E,2}, traj::Array{E,3}, irfs::Array{E,4},
                       shocks::Array{E,3}) where {E<:Union{Float32,Float64}}
    s = r.shape
    count = size(theta, 2)
    check_size("theta", theta, (s.n_params, count), "(n_params, count)")
    check_size("traj", traj, (s.T, s.n_obs, count), "(T, n_obs, count)")
    check_size("irfs", irfs, (s.n_shocks, s.H + 1, s.n_obs, count), "(n_shocks, H+1, n_obs, count)")
    check_size("shocks", shocks, (s.T, s.n_shocks, count), "(T, n_shocks, count)")
    st = with_handle(r, "Reader") do h
        if E === Float64
            ccall((:ume_reader_read_f64, libumedata()), Cint, (Ptr{Cvoid}, UInt64, UInt64, UInt32, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t), h, start, count, LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks))
        else
            ccall((:ume_reader_read_f32, libumedata()), Cint, (Ptr{Cvoid}, UInt64, UInt64, UInt32, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t), h, start, count, LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks))
        end
    end
    check(st)
    return theta, traj, irfs, shocks
end

"""
    read_ids(r, ids, E=Float64; threads=0) -> (theta, traj, irfs, shocks)

The samples with 0-based ids `ids` (any order, repeats allowed: a shuffled mini-batch),
sample ids[k] in column k of each array, shaped as by [`read_samples`](@ref) with
count = length(ids). Each inner chunk is read and decoded once, on up to `threads` of the
library's threads (0 = automatic) (ume_reader_read_ids_f64/f32).
"""
function read_ids(r::Reader, ids::AbstractVector{<:Integer}, ::Type{E} = Float64; threads::Integer = 0) where {E<:Union{Float32,Float64}}
    s = r.shape
    count = length(ids)
    theta = Array{E}(undef, s.n_params, count)
    traj = Array{E}(undef, s.T, s.n_obs, count)
    irfs = Array{E}(undef, s.n_shocks, s.H + 1, s.n_obs, count)
    shocks = Array{E}(undef, s.T, s.n_shocks, count)
    return read_ids!(r, ids, theta, traj, irfs, shocks; threads = threads)
end

"""
    read_ids!(r, ids, theta, traj, irfs, shocks; threads=0) -> (theta, traj, irfs, shocks)

[`read_ids`](@ref) into the given Arrays (all Float64 or all Float32), count = length(ids);
shapes as for [`read_samples!`](@ref), else DimensionMismatch. No ids: nothing is read.
"""
function read_ids!(r::Reader, ids::AbstractVector{<:Integer}, theta::Array{E,2}, traj::Array{E,3}, irfs::Array{E,4},
                   shocks::Array{E,3}; threads::Integer = 0) where {E<:Union{Float32,Float64}}
    s = r.shape
    count = length(ids)
    check_size("theta", theta, (s.n_params, count), "(n_params, count)")
    check_size("traj", traj, (s.T, s.n_obs, count), "(T, n_obs, count)")
    check_size("irfs", irfs, (s.n_shocks, s.H + 1, s.n_obs, count), "(n_shocks, H+1, n_obs, count)")
    check_size("shocks", shocks, (s.T, s.n_shocks, count), "(T, n_shocks, count)")
    count == 0 && return theta, traj, irfs, shocks
    all(>=(0), ids) || throw(ArgumentError("read_ids!: ids are 0-based sample ids, got a negative one"))
    threads >= 0 || throw(ArgumentError("read_ids!: threads is $threads, expected 0 or more"))
    ids64 = Vector{UInt64}(ids)
    st = with_handle(r, "Reader") do h
        if E === Float64
            ccall((:ume_reader_read_ids_f64, libumedata()), Cint, (Ptr{Cvoid}, Ptr{UInt64}, Csize_t, UInt32, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, Ptr{Float64}, Csize_t, UInt32), h, ids64, length(ids64), LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks), threads)
        else
            ccall((:ume_reader_read_ids_f32, libumedata()), Cint, (Ptr{Cvoid}, Ptr{UInt64}, Csize_t, UInt32, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, Ptr{Float32}, Csize_t, UInt32), h, ids64, length(ids64), LAYOUT_F, theta, length(theta), traj, length(traj), irfs, length(irfs), shocks, length(shocks), threads)
        end
    end
    check(st)
    return theta, traj, irfs, shocks
end

"""
    read_sample(r, i, E=Float64) -> (theta, traj, irfs, shocks)

Sample `i` (0-based id), shaped as for write_sample!.
"""
function read_sample(r::Reader, i::Integer, ::Type{E} = Float64) where {E<:Union{Float32,Float64}}
    theta, traj, irfs, shocks = read_samples(r, i, 1, E)
    return vec(theta), dropdims(traj; dims = 3), dropdims(irfs; dims = 4), dropdims(shocks; dims = 3)
end

# ---- the generation engine (issue 13) ----------------------------------------------------
#
# ume_generate drives a Julia function through a `@cfunction` trampoline. The engine calls
# it from its own threads (always, also with threads = 1): Julia adopts them (Julia >= 1.9),
# and the calling thread waits inside ume_generate in a GC-safe region, so a garbage
# collection on an engine thread does not wait for it.

# ume_gen_summary_get's `what` (UME_GEN_*).
const GEN_WRITTEN = UInt32(0)
const GEN_ALREADY = UInt32(1)
const GEN_MISSING = UInt32(2)
const GEN_STOPPED = UInt32(3)
const GEN_SAMPLES_WRITTEN = UInt32(4)
const GEN_REJECTED = UInt32(5)

# The oldest Julia whose @cfunction may be called from a thread Julia did not start
# (foreign threads are adopted since 1.9). Below it, generate throws before any C call.
const GENERATE_MIN_JULIA = v"1.9"

"""
    Simulator(name, version; T, H, params = (), shocks = (), obs = (), reject_reasons = ())

A simulator description for [`generate`](@ref) (ume_sim_new): `name` is the world id
(`[A-Za-z0-9_.-]+`), `version` is recorded in the manifest, T >= 1 the trajectory length,
H the IRF horizon (H+1 points). Then, in the order of theta, the shocks and the
observables in the arrays:

- `params`: tuples `(name, lo, hi[, default[, unit]])` (see [`add_param!`](@ref));
- `shocks`: tuples `(name, sigma)` ([`add_shock!`](@ref));
- `obs`: names ([`add_obs!`](@ref));
- `reject_reasons`: `code => name` pairs, or names (codes 1, 2, ... in order)
  ([`set_reject_reason!`](@ref)); f may return a name or a code to reject a draw.

    sim = Simulator("ar1", "1.0"; T = 100, H = 20,
                    params = [("rho", 0.0, 0.99), ("sigma", 0.1, 1.0)],
                    shocks = [("eps", 1.0)], obs = ["y"], reject_reasons = [:near_unit_root])

Each value is checked by the library at once (UmeError 7002 names it; the description is
then released). close(sim) or the GC finalizer releases it (ume_sim_free). Not
thread-safe while being changed; generate only reads it.
"""
mutable struct Simulator
    @atomic handle::Ptr{Cvoid}
    users::Threads.Atomic{Int}
    name::String
    T::Int
    H::Int
    n_params::Int
    n_shocks::Int
    n_obs::Int
    reasons::Dict{Symbol,Int32}

    function Simulator(name::AbstractString, version::AbstractString; T::Integer, H::Integer,
                       params = (), shocks = (), obs = (), reject_reasons = ())
        check_version()
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(ccall((:ume_sim_new, libumedata()), Cint, (Cstring, Cstring, UInt32, UInt32, Ref{Ptr{Cvoid}}), name, version, T, H, out))
        sim = new(out[], Threads.Atomic{Int}(0), String(name), Int(T), Int(H), 0, 0, 0, Dict{Symbol,Int32}())
        finalizer(close, sim)
        try
            for p in params
                add_param!(sim, p...)
            end
            for s in shocks
                add_shock!(sim, s...)
            end
            for o in obs
                add_obs!(sim, o)
            end
            for (k, r) in enumerate(reject_reasons)
                r isa Pair ? set_reject_reason!(sim, r.first, r.second) : set_reject_reason!(sim, k, r)
            end
        catch
            close(sim)
            rethrow()
        end
        return sim
    end
end

"""
    add_param!(sim, name, lo, hi, default_value = (lo + hi) / 2, unit = "-") -> sim

The next parameter (entry of theta), drawn uniformly in [lo, hi] (finite, lo < hi), with
a default in [lo, hi] (the midpoint, as for a C plugin that gives none) and a unit
(ume_sim_add_param). UmeError 7002 for bad bounds or a repeated name.
"""
function add_param!(sim::Simulator, name, lo::Real, hi::Real, default_value::Real = (lo + hi) / 2, unit = "-")
    st = with_handle(sim, "Simulator") do h
        ccall((:ume_sim_add_param, libumedata()), Cint, (Ptr{Cvoid}, Cstring, Float64, Float64, Float64, Cstring), h, string(name), lo, hi, default_value, string(unit))
    end
    check(st)
    sim.n_params += 1
    return sim
end

"""
    add_shock!(sim, name, sigma) -> sim

The next shock (entry of the shocks and irfs arrays) with standard deviation `sigma`
(finite, > 0; recorded in the manifest) (ume_sim_add_shock).
"""
function add_shock!(sim::Simulator, name, sigma::Real)
    st = with_handle(sim, "Simulator") do h
        @ccall $(libumedata()).ume_sim_add_shock(h::Ptr{Cvoid}, string(name)::Cstring, sigma::Float64)::Cint
    end
    check(st)
    sim.n_shocks += 1
    return sim
end

"""
    add_obs!(sim, name) -> sim

The next observable (entry of the trajectories and irfs arrays) (ume_sim_add_obs).
"""
function add_obs!(sim::Simulator, name)
    st = with_handle(sim, "Simulator") do h
        ccall((:ume_sim_add_obs, libumedata()), Cint, (Ptr{Cvoid}, Cstring), h, string(name))
    end
    check(st)
    sim.n_obs += 1
    return sim
end

"""
    set_reject_reason!(sim, code, name) -> sim

Names rejection reason `code` (>= 1) for the manifest (ume_sim_set_reject_reason). The
simulate function of [`generate`](@ref) may then return `code` or `Symbol(name)`.
"""
function set_reject_reason!(sim::Simulator, code::Integer, name)
    st = with_handle(sim, "Simulator") do h
        ccall((:ume_sim_set_reject_reason, libumedata()), Cint, (Ptr{Cvoid}, Int32, Cstring), h, code, string(name))
    end
    check(st)
    sim.reasons[Symbol(name)] = Int32(code)
    return sim
end

"""Releases the description (ume_sim_free) after calls in flight. Safe to repeat."""
function Base.close(sim::Simulator)
    h = take_handle!(sim)
    h == C_NULL || ccall((:ume_sim_free, libumedata()), Cvoid, (Ptr{Cvoid},), h)
    return nothing
end

function Base.show(io::IO, sim::Simulator)
    print(io, "UmeData.Simulator(\"", sim.name, "\", T = ", sim.T, ", H = ", sim.H, ", n_params = ",
          sim.n_params, ", n_shocks = ", sim.n_shocks, ", n_obs = ", sim.n_obs, ")")
end

"""
    GenConfig(; seed = 42, samples = 0, threads = 1, max_attempts = 0, part = nothing,
              resume = false, split = nothing, theta_table = nothing, writer = nothing,
              design = 0)

How to generate (ume_gen_config_new, then every ume_gen_config_set_* asked for; each
checks its value at once: UmeError, and the config is released):

- `seed`: sample i draws from the ChaCha20 stream (seed, i); the data depend on nothing else.
- `samples`: samples of the world (0 = the dataset's: resume, parts, finish).
- `threads`: engine threads calling the simulate function. The default is 1 (not C's
  "one per core"): with `threads = k > 1` the function runs on k threads at once and must
  be thread-safe. The data do not depend on it. See [`generate`](@ref) for Julia's
  requirements.
- `max_attempts`: draws per sample before the run fails (0 = 1000).
- `part = (start, count)`: only these samples (chunk-aligned; after
  [`generate_prepare`](@ref), then [`generate_finish`](@ref)).
- `resume = true`: continue a dataset the engine made, simulating only what it lacks.
- `split = (train, val, test, split_seed)`: fractions summing to 1 and the seed.
- `theta_table`: a matrix with one row per sample, `theta_table[i + 1, :]` the theta of
  sample i (n_samples × n_params), instead of uniform draws (copied now; passed to C
  row-major).
- `design`: how theta is drawn when there is no table: `DESIGN_UNIFORM` (0, the default:
  uniform within the bounds from each sample's stream) or `DESIGN_SOBOL` (point i of an
  Owen-scrambled Sobol sequence, ume_gen_config_set_design).
- `writer`: storage options as a NamedTuple of [`Writer`](@ref)'s option keywords, e.g.
  `(chunk_samples = 512, codec = CODEC_ZSTD)`; the others keep their defaults.

close(cfg) or the GC finalizer releases it (ume_gen_config_free).
"""
mutable struct GenConfig
    @atomic handle::Ptr{Cvoid}
    users::Threads.Atomic{Int}

    function GenConfig(; seed::Integer = 42, samples::Integer = 0, threads::Integer = 1,
                       max_attempts::Integer = 0, part = nothing, resume::Bool = false,
                       split = nothing, theta_table = nothing, writer = nothing,
                       design::Integer = 0)
        check_version()
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(ccall((:ume_gen_config_new, libumedata()), Cint, (Ref{Ptr{Cvoid}},), out))
        c = new(out[], Threads.Atomic{Int}(0))
        finalizer(close, c)
        cfg = out[]
        try
            check(ccall((:ume_gen_config_set_seed, libumedata()), Cint, (Ptr{Cvoid}, UInt64), cfg, seed))
            check(ccall((:ume_gen_config_set_samples, libumedata()), Cint, (Ptr{Cvoid}, UInt64), cfg, samples))
            check(ccall((:ume_gen_config_set_threads, libumedata()), Cint, (Ptr{Cvoid}, UInt32), cfg, threads))
            check(ccall((:ume_gen_config_set_max_attempts, libumedata()), Cint, (Ptr{Cvoid}, UInt32), cfg, max_attempts))
            check(ccall((:ume_gen_config_set_resume, libumedata()), Cint, (Ptr{Cvoid}, Int32), cfg, resume))
            check(ccall((:ume_gen_config_set_design, libumedata()), Cint, (Ptr{Cvoid}, UInt32), cfg, design))
            if part !== nothing
                start, count = part
                check(ccall((:ume_gen_config_set_part, libumedata()), Cint, (Ptr{Cvoid}, UInt64, UInt64), cfg, start, count))
            end
            if split !== nothing
                train, val, test, split_seed = split
                check(ccall((:ume_gen_config_set_split, libumedata()), Cint, (Ptr{Cvoid}, Float64, Float64, Float64, UInt64), cfg, train, val, test, split_seed))
            end
            if theta_table !== nothing
                # row i of the matrix = sample i-1; C takes the rows one after the other
                values = vec(permutedims(Matrix{Float64}(theta_table)))
                check(ccall((:ume_gen_config_set_theta_table, libumedata()), Cint, (Ptr{Cvoid}, Ptr{Float64}, Csize_t), cfg, values, length(values)))
            end
            if writer !== nothing
                wcfg = writer_config_kw(; writer...)
                st = ccall((:ume_gen_config_set_writer_config, libumedata()), Cint, (Ptr{Cvoid}, Ptr{Cvoid}), cfg, wcfg)
                ccall((:ume_writer_config_free, libumedata()), Cvoid, (Ptr{Cvoid},), wcfg)
                check(st)
            end
        catch
            close(c)
            rethrow()
        end
        return c
    end
end

# writer_config with Writer's option keywords and defaults.
function writer_config_kw(; codec::Integer = CODEC_BLOSC_LZ4, clevel::Integer = -1, chunk_samples::Integer = 0,
                          inner_chunk_samples::Integer = 0, n_threads::Integer = 0, max_open_chunks::Integer = 0,
                          overwrite::Bool = false, allow_nonfinite::Bool = false, checksum::Bool = true,
                          fsync::Bool = true, rewrite::Bool = false, zarr_format::Integer = 3, claim_lease::Integer = 0)
    return writer_config(codec, clevel, chunk_samples, inner_chunk_samples, n_threads, max_open_chunks,
                         overwrite, allow_nonfinite, checksum, fsync, rewrite, zarr_format, claim_lease)
end

"""Releases the config (ume_gen_config_free) after calls in flight. Safe to repeat."""
function Base.close(c::GenConfig)
    h = take_handle!(c)
    h == C_NULL || ccall((:ume_gen_config_free, libumedata()), Cvoid, (Ptr{Cvoid},), h)
    return nothing
end

"""
What one [`generate`](@ref) call did: `written` (samples it stored), `already` (stored
before it), `missing` (of its range, still missing), `stopped` (the progress function
stopped it; resumable), `samples_written` (the world holds now), `rejected` (draws of its
samples rejected, all reasons) and `rejections` (reason name => count, for the
simulator's named reasons).
"""
struct GenSummary
    written::Int
    already::Int
    missing::Int
    stopped::Bool
    samples_written::Int
    rejected::Int
    rejections::Dict{Symbol,Int}
end

# Reads every number of a ume_gen_summary (the caller frees it).
function gen_summary(summary::Ptr{Cvoid}, reasons::Dict{Symbol,Int32})
    get_what(what) = begin
        out = Ref{UInt64}(0)
        check(ccall((:ume_gen_summary_get, libumedata()), Cint, (Ptr{Cvoid}, UInt32, Ref{UInt64}), summary, what, out))
        Int(out[])
    end
    rejections = Dict{Symbol,Int}()
    for (name, code) in reasons
        out = Ref{UInt64}(0)
        check(ccall((:ume_gen_summary_rejections, libumedata()), Cint, (Ptr{Cvoid}, Int32, Ref{UInt64}), summary, code, out))
        rejections[name] = Int(out[])
    end
    return GenSummary(get_what(GEN_WRITTEN), get_what(GEN_ALREADY), get_what(GEN_MISSING), get_what(GEN_STOPPED) != 0,
                      get_what(GEN_SAMPLES_WRITTEN), get_what(GEN_REJECTED), rejections)
end

"""
    RngRef

The generator the engine hands to the simulate function: the ChaCha20 stream of this
sample, already past its theta draws (a view of a `ume_rng`, valid only during that call;
one per thread). Draw the shocks from it, and from nothing else, so that a sample is a
function of (seed, sample) alone:

- `rand(rng)`: a uniform in [0, 1) (ume_rng_uniform); `randn(rng)`: a standard normal
  (ume_rng_normal);
- `rand!(rng, A)`, `randn!(rng, A)`: fill `A` (ume_rng_fill_uniform / _fill_normal), the
  same values as that many single draws, in `A`'s own (column-major) index order: for a
  `Vector` or `Array` directly, for the views f gets (`shocks`) through a copy;
- `rand(rng, dims...)`, `randn(rng, dims...)`: new arrays.

`Random` is extended (`import Random` or `using Random` for `rand!` / `randn!`). Failures
throw UmeError (a NULL generator: 7001).
"""
struct RngRef
    ptr::Ptr{Cvoid}
end

function Random.rand(r::RngRef)
    out = Ref{Float64}(0.0)
    check(ccall((:ume_rng_uniform, libumedata()), Cint, (Ptr{Cvoid}, Ref{Float64}), r.ptr, out))
    return out[]
end

function Random.randn(r::RngRef)
    out = Ref{Float64}(0.0)
    check(ccall((:ume_rng_normal, libumedata()), Cint, (Ptr{Cvoid}, Ref{Float64}), r.ptr, out))
    return out[]
end

function Random.rand!(r::RngRef, A::Array{Float64})
    GC.@preserve A check(ccall((:ume_rng_fill_uniform, libumedata()), Cint, (Ptr{Cvoid}, Ptr{Float64}, Csize_t), r.ptr, A, length(A)))
    return A
end

function Random.randn!(r::RngRef, A::Array{Float64})
    GC.@preserve A check(ccall((:ume_rng_fill_normal, libumedata()), Cint, (Ptr{Cvoid}, Ptr{Float64}, Csize_t), r.ptr, A, length(A)))
    return A
end

# Any other array (the PermutedDimsArray views of generate, views, ...): drawn into a
# Vector, then copied in A's linear (column-major) index order.
Random.rand!(r::RngRef, A::AbstractArray{Float64}) = copyto!(A, Random.rand!(r, Vector{Float64}(undef, length(A))))
Random.randn!(r::RngRef, A::AbstractArray{Float64}) = copyto!(A, Random.randn!(r, Vector{Float64}(undef, length(A))))
Random.rand(r::RngRef, d::Integer, dims::Integer...) = Random.rand!(r, Array{Float64}(undef, d, dims...))
Random.randn(r::RngRef, d::Integer, dims::Integer...) = Random.randn!(r, Array{Float64}(undef, d, dims...))

# What one generate call shares with its trampolines (passed as their `user` pointer).
mutable struct GenContext
    f::Any
    progress::Any
    dims::NamedTuple{(:n_params, :T, :H, :n_shocks, :n_obs),NTuple{5,Int}}
    reasons::Dict{Symbol,Int32}
    failed::Threads.Atomic{Bool}
    lock::Threads.SpinLock
    error::Any
end

# Keeps the first exception a callback threw (from any engine thread); the others are dropped.
function capture!(ctx::GenContext, err)
    lock(ctx.lock)
    try
        ctx.error === nothing && (ctx.error = err)
    finally
        unlock(ctx.lock)
    end
    ctx.failed[] = true
    return nothing
end

# The simulate function's result as ume_simulate_fn's: `nothing` or :accept = 0 (accept), a
# code >= 1 or a reason name = reject; anything else is an error (the run aborts).
function reject_code(ctx::GenContext, sample::Integer, r)::Int32
    r === nothing && return Int32(0)
    r === :accept && return Int32(0)
    if r isa Integer && !(r isa Bool) && 1 <= r <= typemax(Int32)
        return Int32(r)
    end
    if r isa Symbol || r isa AbstractString
        code = get(ctx.reasons, Symbol(r), Int32(0))
        code >= 1 && return code
    end
    throw(ArgumentError("the simulate function returned $(repr(r)) for sample $sample; expected nothing or " *
                        ":accept (accept), a reject code >= 1 or a reject reason of the Simulator " *
                        "($(join(sort!(collect(keys(ctx.reasons))), ", ")))"))
end

# The ume_simulate_fn: called by the engine's threads (adopted by Julia). Wraps the C
# buffers without copying (theta is copied: C's is const) in the shapes of write_sample!:
# C's row-major traj (T × n_obs) is Julia's column-major (n_obs, T), shown as (T, n_obs) by
# a PermutedDimsArray; likewise irfs (n_shocks, H+1, n_obs) and shocks (T, n_shocks). A
# Julia exception never unwinds into C: it is kept, and -1 aborts the run.
function simulate_trampoline(user::Ptr{Cvoid}, sample::UInt64, theta::Ptr{Float64}, rng::Ptr{Cvoid}, traj::Ptr{Float64}, irfs::Ptr{Float64}, shocks::Ptr{Float64})::Int32
    ctx = unsafe_pointer_to_objref(user)::GenContext
    ctx.failed[] && return Int32(-1)   # the run is aborting: do not call f again
    try
        d = ctx.dims
        th = copy(unsafe_wrap(Array, theta, (d.n_params,)))
        tr = PermutedDimsArray(unsafe_wrap(Array, traj, (d.n_obs, d.T)), (2, 1))
        ir = PermutedDimsArray(unsafe_wrap(Array, irfs, (d.n_obs, d.H + 1, d.n_shocks)), (3, 2, 1))
        sh = PermutedDimsArray(unsafe_wrap(Array, shocks, (d.n_shocks, d.T)), (2, 1))
        r = ctx.f(Int(sample), th, RngRef(rng), tr, ir, sh)
        return reject_code(ctx, sample, r)
    catch err
        capture!(ctx, err)
        return Int32(-1)
    end
end

# The ume_progress_fn: one call at a time, from an engine thread. `true` stops the run
# (resumable); an exception stops it too and is rethrown by generate.
function progress_trampoline(user::Ptr{Cvoid}, done::UInt64, total::UInt64, rate::Float64)::Int32
    ctx = unsafe_pointer_to_objref(user)::GenContext
    ctx.failed[] && return Int32(1)
    try
        return ctx.progress(Int(done), Int(total), rate) === true ? Int32(1) : Int32(0)
    catch err
        capture!(ctx, err)
        return Int32(1)
    end
end

"""
    generate(f, path, sim::Simulator, cfg::GenConfig = GenConfig(); progress = nothing) -> GenSummary
    generate(path, sim, cfg; progress) do i, theta, rng, traj, irfs, shocks ... end

Runs the engine (ume_generate): for every sample of the range `cfg` asks for, theta is
drawn from the sample's stream (seed, i) (or taken from the theta table) and

    f(i, theta, rng, traj, irfs, shocks)

is called (any function or closure): `i` the 0-based sample id; `theta` a new
`Vector{Float64}` (n_params); `rng` an [`RngRef`](@ref) to draw the shocks from;
`traj` (T, n_obs), `irfs` (n_shocks, H+1, n_obs) and `shocks` (T, n_shocks): zero on
entry, written by f, stored as they are when f accepts. They are the shapes of
`write_sample!`, shown over the engine's row-major buffers without a copy (C's
`traj[t * n_obs + k]` is `traj[t + 1, k + 1]`): `PermutedDimsArray`s of `unsafe_wrap`ped
Arrays, valid only during the call (do not keep them). f returns `nothing` or `:accept` to
accept, a reject code >= 1 or a reason name of `sim` (a Symbol) to reject this theta
(counted, redrawn from the same stream). Anything else is an error.

`progress(done, total, rate)`, if given, is called after every stored sample, one call
at a time; returning `true` stops the run cleanly (`stopped` in the summary; resumable).

Errors: nothing f or progress throws unwinds into C. The trampoline keeps the first
exception and returns -1 (f: the run aborts) or stops the run (progress); what was
stored stays valid and resumable (`GenConfig(resume = true)`), and generate rethrows that
exception (the original object) once ume_generate returned. Library errors throw UmeError.

Threads and Julia versions: the engine calls f and progress from its own threads,
always (also with `threads = 1`). Julia >= 1.9 adopts such threads; on older Julia
generate throws an ErrorException before any C call (the rest of UmeData works from
Julia 1.7). While the engine runs, the calling thread waits in ume_generate inside a
GC-safe region (jl_gc_safe_enter), so a garbage collection triggered by f proceeds. f and
progress run while the calling task is blocked: keep them to computation and allocation;
no task switches (`sleep`, `wait`, `@sync`, locks the caller holds, stream I/O such as
`println`: use `Core.println` to debug). With `GenConfig(threads = k)`, k > 1, f runs on
k threads at once and must be thread-safe; the default is 1.
"""
function generate(f, path::AbstractString, sim::Simulator, cfg::GenConfig = GenConfig(); progress = nothing)
    VERSION >= GENERATE_MIN_JULIA || throw(ErrorException("UmeData.generate needs Julia >= $GENERATE_MIN_JULIA (the engine calls f from its own threads, which Julia adopts since 1.9); this is Julia $VERSION"))
    check_version()
    path_buf = c_string("path", path)
    dims = (n_params = sim.n_params, T = sim.T, H = sim.H, n_shocks = sim.n_shocks, n_obs = sim.n_obs)
    ctx = GenContext(f, progress, dims, copy(sim.reasons), Threads.Atomic{Bool}(false), Threads.SpinLock(), nothing)
    simulate = @cfunction(simulate_trampoline, Int32, (Ptr{Cvoid}, UInt64, Ptr{Float64}, Ptr{Cvoid}, Ptr{Float64}, Ptr{Float64}, Ptr{Float64}))
    progress_fn = progress === nothing ? C_NULL : @cfunction(progress_trampoline, Int32, (Ptr{Cvoid}, UInt64, UInt64, Float64))
    summary_out = Ref{Ptr{Cvoid}}(C_NULL)
    st = with_handle(sim, "Simulator") do sim_h
        with_handle(cfg, "GenConfig") do config
            GC.@preserve path_buf ctx summary_out begin
                user = pointer_from_objref(ctx)
                progress_user = progress === nothing ? C_NULL : user
                p = Ptr{Cchar}(pointer(path_buf))
                # GC-safe while waiting: no Julia code, no allocation until jl_gc_safe_leave
                gc_state = ccall(:jl_gc_safe_enter, Int8, ())
                status = ccall((:ume_generate, libumedata()), Cint, (Ptr{Cchar}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ref{Ptr{Cvoid}}), p, sim_h, config, simulate, user, progress_fn, progress_user, summary_out)
                ccall(:jl_gc_safe_leave, Cvoid, (Int8,), gc_state)
                status
            end
        end
    end
    summary = summary_out[]
    try
        # a callback's own exception says more than the engine's "callback returned -1"
        ctx.error === nothing || throw(ctx.error)
        check(st)
        return gen_summary(summary, ctx.reasons)
    finally
        ccall((:ume_gen_summary_free, libumedata()), Cvoid, (Ptr{Cvoid},), summary)
    end
end

"""
    generate_prepare(path, sim, cfg)

Creates the world of `sim` and its manifest at `path`, storing no sample
(ume_generate_prepare): the first step of a run split into parts (once, e.g. on MPI rank
0, before the parts: `generate(f, path, sim, GenConfig(part = (start, count), ...))`).
`cfg` must have no part and no resume.
"""
function generate_prepare(path::AbstractString, sim::Simulator, cfg::GenConfig)
    check_version()
    st = with_handle(sim, "Simulator") do sim_h
        with_handle(cfg, "GenConfig") do config
            ccall((:ume_generate_prepare, libumedata()), Cint, (Cstring, Ptr{Cvoid}, Ptr{Cvoid}), path, sim_h, config)
        end
    end
    check(st)
    return nothing
end

"""
    generate_finish(path, sim, cfg)

The last step of a run split into parts, once, after every part returned
(ume_generate_finish): records the rejections of all parts, computes the splits and
writes the final manifest.
"""
function generate_finish(path::AbstractString, sim::Simulator, cfg::GenConfig)
    check_version()
    st = with_handle(sim, "Simulator") do sim_h
        with_handle(cfg, "GenConfig") do config
            ccall((:ume_generate_finish, libumedata()), Cint, (Cstring, Ptr{Cvoid}, Ptr{Cvoid}), path, sim_h, config)
        end
    end
    check(st)
    return nothing
end

end # module UmeData
