"""Settings models of the built-in node types (FLOW_FORMAT.md, schema_version 1).

String fields are templates, rendered by the executor at run time. Settings that are not text but
may be computed (`max_iterations`, `start_index`) accept a template string as well. Unknown keys are
errors so that a misspelt setting is reported instead of ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dad_studio.model.definitions import ComponentDefinition


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True, defer_build=True)


# -- ai_model ---------------------------------------------------------------------------------------


class AIModelSettings(Settings):
    model: str = Field(default="echo", description="provider:name, e.g. echo, scripted:FILE, openai:gpt-4o-mini")
    prompt: str = Field(description="The user prompt (template)", json_schema_extra={"multiline": True})
    system_instructions: str | list[str] | None = Field(default=None, json_schema_extra={"multiline": True})
    context_sources: list[str] = Field(default_factory=list, description="Templates whose values become context")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    structured_output: dict[str, Any] | None = Field(default=None, description="JSON schema of the answer")
    stream: bool = False


# -- command ----------------------------------------------------------------------------------------


class CommandSettings(Settings):
    commands: list[str] = Field(min_length=1)
    working_dir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=60.0, gt=0)
    shell: bool = True
    fail_fast: bool = True


# -- file_operation ---------------------------------------------------------------------------------

FileOperationType = Literal[
    "create_file",
    "edit_file",
    "delete_file",
    "create_directory",
    "delete_directory",
    "list_directory",
    "move_file",
    "search_files",
    "get_file_info",
]


class TextEdit(Settings):
    old_text: str
    new_text: str


class FileOperation(Settings):
    type: FileOperationType
    path: str = "."
    content: str | None = None
    edits: list[TextEdit] = Field(default_factory=list)
    destination: str | None = None
    pattern: str | None = None


class FileOperationSettings(Settings):
    base_directory: str = "$var{run_dir}"
    allowed_directories: list[str] = Field(default_factory=list)
    operations: list[FileOperation] = Field(min_length=1)
    fail_fast: bool = True


# -- folder_analyzer --------------------------------------------------------------------------------

FolderOperationType = Literal["analyze_folder", "analyze_file", "find_files", "get_structure", "get_tree_diagram"]


class FolderOperation(Settings):
    operation_type: FolderOperationType
    path: str = "."
    max_depth: int | None = Field(default=None, ge=0)
    include_patterns: list[str] = Field(default_factory=list)
    exclude_patterns: list[str] = Field(default_factory=list)
    respect_gitignore: bool = True
    content_read_mode: Literal["none", "preview", "full"] = "none"
    max_file_size: int | None = Field(default=1_000_000, ge=0)
    max_total_words: int | None = Field(default=None, ge=0)


class FolderAnalyzerSettings(Settings):
    base_directory: str = "$var{project_root}"
    allowed_directories: list[str] = Field(default_factory=list)
    operations: list[FolderOperation] = Field(min_length=1)


# -- python -----------------------------------------------------------------------------------------


class PythonSettings(Settings):
    callable: str = Field(
        pattern=r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$",
        description="package.module:function or path/file.py:function (relative to the flow file)",
    )
    args: dict[str, Any] = Field(default_factory=dict, description="Templated argument values")


# -- input ------------------------------------------------------------------------------------------

FieldType = Literal["string", "text", "number", "integer", "boolean", "choice"]


class InputField(Settings):
    type: FieldType = "string"
    default: Any = None
    choices: list[Any] | None = None
    description: str = ""
    required: bool = True

    @model_validator(mode="after")
    def _choices_for_choice(self) -> InputField:
        if self.type == "choice" and not self.choices:
            raise ValueError("a 'choice' field needs a non-empty 'choices' list")
        return self


class InputSettings(Settings):
    prompt: str = ""
    fields: dict[str, InputField] = Field(min_length=1)


# -- control ----------------------------------------------------------------------------------------


class ConditionalSettings(Settings):
    statement: str = Field(description="Template evaluated to a boolean")


class ForEachSettings(Settings):
    statement: str = Field(description="Template evaluating to a list")
    item_var: str = Field(default="item", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    index_var: str = Field(default="index", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    start_index: int | str = 0
    max_iterations: int | str = Field(description="Required upper bound on iterations")
    concurrency: int = Field(default=1, ge=1, le=1000)
    body: ComponentDefinition


class SubflowSettings(Settings):
    body: ComponentDefinition | None = None
    ref: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _body_or_ref(self) -> SubflowSettings:
        if (self.body is None) == (self.ref is None):
            raise ValueError("a subflow needs exactly one of 'body' or 'ref'")
        return self
