"""The Colab notebooks (colab/*.ipynb) run top to bottom in SMALL mode on a clean kernel.

Each notebook is executed with nbclient on a fresh kernel of this environment's Python (a kernelspec
written to a temporary directory), with a papermill-style ``injected-parameters`` cell after its
``parameters`` cell: ``SMALL = True`` and a temporary ``WORK_DIR``. Any error in any cell fails the
test with the cell's traceback. Cheap checks keep the repository copies stripped of outputs and
every notebook on the same setup cell.
"""

from __future__ import annotations

import json
import pathlib
import os
import sys
import time

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

COLAB = pathlib.Path(__file__).resolve().parents[1] / "colab"
NOTEBOOKS = ("quickstart", "pretrain_tpu", "squad_and_ner", "features")
KERNEL_NAME = "bertzoo-test"
CELL_TIMEOUT_S = 600
# Parameters beyond SMALL and WORK_DIR, per notebook: the pretraining notebook copies its run to a
# "bucket" (a local directory here; gs:// on Colab) through tf.io.gfile.
EXTRA_PARAMETERS = {"pretrain_tpu": lambda work_dir: {"GCS_DIR": str(work_dir / "bucket")}}


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(COLAB / f"{name}.ipynb", as_version=4)


def _tagged(nb: nbformat.NotebookNode, tag: str) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if tag in cell.get("metadata", {}).get("tags", [])]


def inject_parameters(nb: nbformat.NotebookNode, values: dict) -> None:
    """Adds papermill's ``injected-parameters`` cell after the ``parameters`` cell."""
    (index,) = _tagged(nb, "parameters")
    source = "# Parameters injected by tests/test_notebooks.py\n" + "".join(
        f"{name} = {value!r}\n" for name, value in values.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, cell)


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> pathlib.Path:
    """A kernelspec running ipykernel on this test's Python, so the notebooks see this environment."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / KERNEL_NAME
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bertzoo (tests)",
        "language": "python",
        "env": {"TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }))
    return root


def execute(name: str, kernel_dir: pathlib.Path, work_dir: pathlib.Path) -> dict:
    """Runs the notebook in SMALL mode; returns its executed copy, wall and CPU seconds, and figure count."""
    nb = _read(name)
    extra = EXTRA_PARAMETERS.get(name, lambda _: {})(work_dir)
    inject_parameters(nb, {"SMALL": True, "WORK_DIR": str(work_dir / "outputs"), **extra})
    manager = KernelManager(kernel_name=KERNEL_NAME,
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    cpu = {"seconds": 0.0}

    def read_kernel_cpu(**_):
        cpu["seconds"] = _cpu_seconds(manager.provisioner.process.pid)

    client = NotebookClient(nb, km=manager, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL_NAME,
                            resources={"metadata": {"path": str(work_dir)}}, on_cell_executed=read_kernel_cpu)
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    figures = sum(1 for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
                  if "image/png" in output.get("data", {}))
    nbformat.write(nb, work_dir / f"{name}.executed.ipynb")
    return {"notebook": nb, "seconds": seconds, "cpu_seconds": cpu["seconds"], "figures": figures}


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its finished subprocesses (Linux /proc; 0 elsewhere)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_small_mode(name, kernel_dir, tmp_path, record_property):
    result = execute(name, kernel_dir, tmp_path)
    record_property("seconds", round(result["seconds"], 1))
    record_property("cpu_seconds", round(result["cpu_seconds"], 1))
    record_property("figures", result["figures"])
    print(f"{name}: {result['seconds']:.0f} s wall, {result['cpu_seconds']:.0f} s CPU, {result['figures']} figure(s)")
    assert result["figures"] >= 1, f"{name} drew no figure"


def test_setup_cell_asked_for_a_tpu_without_one_says_so(kernel_dir, tmp_path):
    """The notebooks' TPU path as far as a machine without a TPU goes: STRATEGY = "tpu" stops the setup
    cell with bertzoo's TPUNotFoundError naming where it looked (the fallback of "auto" is in every run)."""
    nb = _read("quickstart")
    (index,) = _tagged(nb, "parameters")
    nb.cells = nb.cells[: index + 2]  # the parameters and setup cells
    inject_parameters(nb, {"SMALL": True, "WORK_DIR": str(tmp_path / "outputs"), "STRATEGY": "tpu"})
    manager = KernelManager(kernel_name=KERNEL_NAME,
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = NotebookClient(nb, km=manager, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL_NAME,
                            resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError) as error:
        client.execute()
    assert error.value.ename == "TPUNotFoundError"
    assert error.value.evalue.startswith("no TPU found at 'local': "), error.value.evalue


def test_every_notebook_is_tested():
    assert sorted(path.stem for path in COLAB.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_outputs_are_stripped(name):
    nb = _read(name)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}.ipynb cell {index} has outputs"


def test_notebooks_share_the_parameters_and_setup_cells():
    """One first-cell pattern: a ``parameters`` cell with SMALL, then the same setup cell everywhere."""
    setups = {}
    for name in NOTEBOOKS:
        nb = _read(name)
        (index,) = _tagged(nb, "parameters")
        parameters = nb.cells[index].source
        assert "SMALL = True" in parameters and "WORK_DIR = None" in parameters, name
        setup = nb.cells[index + 1].source
        assert "resolve_strategy(STRATEGY, tpu=TPU)" in setup, name
        setups[name] = setup
    assert len(set(setups.values())) == 1, "the setup cells differ between notebooks"
