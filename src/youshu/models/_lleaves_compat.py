"""Let lleaves 1.3 compile with llvmlite >= 0.45, which removed the legacy pass manager lleaves calls.

lleaves 1.3.0 (the latest release) optimises with ``llvmlite.binding.PassManagerBuilder`` and calls
``llvmlite.binding.initialize()``; llvmlite 0.45+ removed the first and made the second raise. While
:func:`lleaves_compat` is active, lleaves' module builder and LLVM initialisation are swapped for versions
that use the new pass manager (same optimisation level 3 and inlining); with an older llvmlite nothing is
changed. The rest of lleaves (code generation, JIT, object cache) is used as is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["lleaves_compat"]


def _compile_to_module(
    file_path: Any,
    fblocksize: int = 34,
    finline: bool = True,
    raw_score: bool = False,
    froot_func_name: str = "forest_root",
    use_fp64: bool = True,
) -> Any:
    """lleaves.compiler.compile_to_module with the new LLVM pass manager (same signature and result)."""
    import llvmlite.binding as llvm
    import llvmlite.ir
    from lleaves.compiler.ast import parse_to_ast
    from lleaves.compiler.codegen import gen_forest

    forest = parse_to_ast(file_path)
    forest.raw_score = raw_score
    ir = llvmlite.ir.Module(name="forest")
    gen_forest(forest, ir, fblocksize, froot_func_name, use_fp64)
    ir.triple = llvm.get_process_triple()
    module = llvm.parse_assembly(str(ir))
    module.name = str(file_path)
    module.verify()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    machine = llvm.Target.from_triple(ir.triple).create_target_machine()
    tuning = llvm.create_pipeline_tuning_options(speed_level=3)
    if finline:
        tuning.inlining_threshold = 1  # as lleaves: any threshold makes LLVM inline
    builder = llvm.create_pass_builder(machine, tuning)
    builder.getModulePassManager().run(module, builder)
    return module


def _initialize_llvm() -> None:
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


@contextlib.contextmanager
def lleaves_compat() -> Iterator[None]:
    """Within the block, lleaves compiles with whatever llvmlite is installed."""
    import lleaves.compiler
    import lleaves.llvm_binding
    import llvmlite.binding as llvm

    if hasattr(llvm, "PassManagerBuilder"):
        yield
        return
    saved = (lleaves.compiler.compile_to_module, lleaves.llvm_binding._initialize_llvm)
    lleaves.compiler.compile_to_module = _compile_to_module
    lleaves.llvm_binding._initialize_llvm = _initialize_llvm
    try:
        yield
    finally:
        lleaves.compiler.compile_to_module, lleaves.llvm_binding._initialize_llvm = saved
