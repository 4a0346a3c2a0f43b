# The old path of the Julia bindings: `include("bindings/julia/UmeData.jl"); using .UmeData`
# still works. The package is bindings/julia/UmeData (Pkg.develop(path = ...); using UmeData).
include(joinpath(@__DIR__, "UmeData", "src", "UmeData.jl"))
