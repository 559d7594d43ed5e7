"""The one error the converter raises: its message says what was refused and why."""


class ConversionError(ValueError):
    """The BPF object cannot become a valid SBPF v0 program."""
