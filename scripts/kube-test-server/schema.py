"""What the served objects look like: the known fields of Job, Pod and their parts.

One description serves three purposes: strict field validation (fieldValidation=Strict turns an unknown field into
400, Warn into a Warning header), the merge keys of strategic merge patches, and the OpenAPI documents (openapi.py)
kubectl reads to learn that the server validates fields itself. Parts of the pod spec this server does not act on
(affinity, probes, security contexts, most volume sources...) are described as free-form objects: their fields are
accepted as they are, never checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Schema:
    type: str  # string, integer, boolean, number, object, array, map, any, int-or-string
    format: str = ""
    name: str = ""  # for objects: the OpenAPI component name
    fields: dict[str, Schema] = field(default_factory=dict)
    items: Schema | None = None  # for arrays and maps
    required: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()
    # For lists merged by strategic merge patch: the key that identifies an element.
    merge_key: str = ""


STRING = Schema("string")
INT32 = Schema("integer", "int32")
INT64 = Schema("integer", "int64")
BOOL = Schema("boolean")
TIME = Schema("string", "date-time")
BYTES = Schema("string", "byte")
ANY = Schema("any")
INT_OR_STRING = Schema("int-or-string", "int-or-string")
QUANTITY = Schema("int-or-string", "quantity")


def obj(component: str, required: tuple[str, ...] = (), /, **fields: Schema) -> Schema:
    """An object schema named `component` in OpenAPI, with `fields`; `required` names the required ones."""
    return Schema("object", name=component, fields=fields, required=required)


def array(items: Schema, merge_key: str = "") -> Schema:
    return Schema("array", items=items, merge_key=merge_key)


def map_of(items: Schema) -> Schema:
    return Schema("map", items=items)


def enum(*values: str) -> Schema:
    return Schema("string", enum=values)


STRINGS = array(STRING)
STRING_MAP = map_of(STRING)

# MARK: - Metadata

OWNER_REFERENCE = obj(
    "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
    ("apiVersion", "kind", "name", "uid"),
    apiVersion=STRING,
    kind=STRING,
    name=STRING,
    uid=STRING,
    controller=BOOL,
    blockOwnerDeletion=BOOL,
)
OBJECT_META = obj(
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    annotations=STRING_MAP,
    creationTimestamp=TIME,
    deletionGracePeriodSeconds=INT64,
    deletionTimestamp=TIME,
    finalizers=STRINGS,
    generateName=STRING,
    generation=INT64,
    labels=STRING_MAP,
    managedFields=array(ANY),
    name=STRING,
    namespace=STRING,
    ownerReferences=array(OWNER_REFERENCE, merge_key="uid"),
    resourceVersion=STRING,
    selfLink=STRING,
    uid=STRING,
)
LABEL_SELECTOR = obj(
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
    matchExpressions=array(
        obj(
            "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
            ("key", "operator"),
            key=STRING,
            operator=STRING,
            values=STRINGS,
        )
    ),
    matchLabels=STRING_MAP,
)

# MARK: - Containers

KEY_REF = {"key": STRING, "name": STRING, "optional": BOOL}
ENV_VAR = obj(
    "io.k8s.api.core.v1.EnvVar",
    ("name",),
    name=STRING,
    value=STRING,
    valueFrom=obj(
        "io.k8s.api.core.v1.EnvVarSource",
        configMapKeyRef=obj("io.k8s.api.core.v1.ConfigMapKeySelector", ("key",), **KEY_REF),
        fieldRef=obj("io.k8s.api.core.v1.ObjectFieldSelector", ("fieldPath",), apiVersion=STRING, fieldPath=STRING),
        resourceFieldRef=obj(
            "io.k8s.api.core.v1.ResourceFieldSelector",
            ("resource",),
            containerName=STRING,
            divisor=QUANTITY,
            resource=STRING,
        ),
        secretKeyRef=obj("io.k8s.api.core.v1.SecretKeySelector", ("key",), **KEY_REF),
    ),
)
ENV_FROM = obj(
    "io.k8s.api.core.v1.EnvFromSource",
    configMapRef=obj("io.k8s.api.core.v1.ConfigMapEnvSource", name=STRING, optional=BOOL),
    prefix=STRING,
    secretRef=obj("io.k8s.api.core.v1.SecretEnvSource", name=STRING, optional=BOOL),
)
VOLUME_MOUNT = obj(
    "io.k8s.api.core.v1.VolumeMount",
    ("mountPath", "name"),
    mountPath=STRING,
    mountPropagation=STRING,
    name=STRING,
    readOnly=BOOL,
    recursiveReadOnly=STRING,
    subPath=STRING,
    subPathExpr=STRING,
)
RESOURCES = obj(
    "io.k8s.api.core.v1.ResourceRequirements",
    claims=array(ANY),
    limits=map_of(QUANTITY),
    requests=map_of(QUANTITY),
)
CONTAINER = obj(
    "io.k8s.api.core.v1.Container",
    ("name",),
    args=STRINGS,
    command=STRINGS,
    env=array(ENV_VAR, merge_key="name"),
    envFrom=array(ENV_FROM),
    image=STRING,
    imagePullPolicy=enum("Always", "IfNotPresent", "Never"),
    lifecycle=ANY,
    livenessProbe=ANY,
    name=STRING,
    ports=array(ANY, merge_key="containerPort"),
    readinessProbe=ANY,
    resizePolicy=array(ANY),
    resources=RESOURCES,
    restartPolicy=STRING,
    securityContext=ANY,
    startupProbe=ANY,
    stdin=BOOL,
    stdinOnce=BOOL,
    terminationMessagePath=STRING,
    terminationMessagePolicy=enum("File", "FallbackToLogsOnError"),
    tty=BOOL,
    volumeDevices=array(ANY, merge_key="devicePath"),
    volumeMounts=array(VOLUME_MOUNT, merge_key="mountPath"),
    workingDir=STRING,
)

# MARK: - Volumes

KEY_TO_PATH = obj("io.k8s.api.core.v1.KeyToPath", ("key", "path"), key=STRING, mode=INT32, path=STRING)
VOLUME = obj(
    "io.k8s.api.core.v1.Volume",
    ("name",),
    name=STRING,
    emptyDir=obj("io.k8s.api.core.v1.EmptyDirVolumeSource", medium=STRING, sizeLimit=QUANTITY),
    configMap=obj(
        "io.k8s.api.core.v1.ConfigMapVolumeSource",
        defaultMode=INT32,
        items=array(KEY_TO_PATH),
        name=STRING,
        optional=BOOL,
    ),
    secret=obj(
        "io.k8s.api.core.v1.SecretVolumeSource",
        defaultMode=INT32,
        items=array(KEY_TO_PATH),
        optional=BOOL,
        secretName=STRING,
    ),
    **{
        source: ANY
        for source in (
            "awsElasticBlockStore azureDisk azureFile cephfs cinder csi downwardAPI ephemeral fc flexVolume flocker "
            "gcePersistentDisk gitRepo glusterfs hostPath image iscsi nfs persistentVolumeClaim "
            "photonPersistentDisk portworxVolume projected quobyte rbd scaleIO storageos vsphereVolume"
        ).split()
    },
)

# MARK: - Pods

POD_SPEC = obj(
    "io.k8s.api.core.v1.PodSpec",
    ("containers",),
    activeDeadlineSeconds=INT64,
    affinity=ANY,
    automountServiceAccountToken=BOOL,
    containers=array(CONTAINER, merge_key="name"),
    dnsConfig=ANY,
    dnsPolicy=STRING,
    enableServiceLinks=BOOL,
    ephemeralContainers=array(ANY, merge_key="name"),
    hostAliases=array(ANY, merge_key="ip"),
    hostIPC=BOOL,
    hostNetwork=BOOL,
    hostPID=BOOL,
    hostUsers=BOOL,
    hostname=STRING,
    imagePullSecrets=array(ANY, merge_key="name"),
    initContainers=array(CONTAINER, merge_key="name"),
    nodeName=STRING,
    nodeSelector=STRING_MAP,
    os=ANY,
    overhead=map_of(QUANTITY),
    preemptionPolicy=STRING,
    priority=INT32,
    priorityClassName=STRING,
    readinessGates=array(ANY),
    resourceClaims=array(ANY, merge_key="name"),
    resources=RESOURCES,
    restartPolicy=enum("Always", "OnFailure", "Never"),
    runtimeClassName=STRING,
    schedulerName=STRING,
    schedulingGates=array(ANY, merge_key="name"),
    securityContext=ANY,
    serviceAccount=STRING,
    serviceAccountName=STRING,
    setHostnameAsFQDN=BOOL,
    shareProcessNamespace=BOOL,
    subdomain=STRING,
    terminationGracePeriodSeconds=INT64,
    tolerations=array(ANY),
    topologySpreadConstraints=array(ANY),
    volumes=array(VOLUME, merge_key="name"),
)
POD_TEMPLATE_SPEC = obj("io.k8s.api.core.v1.PodTemplateSpec", metadata=OBJECT_META, spec=POD_SPEC)
CONTAINER_STATE = obj(
    "io.k8s.api.core.v1.ContainerState",
    running=obj("io.k8s.api.core.v1.ContainerStateRunning", startedAt=TIME),
    terminated=obj(
        "io.k8s.api.core.v1.ContainerStateTerminated",
        ("exitCode",),
        containerID=STRING,
        exitCode=INT32,
        finishedAt=TIME,
        message=STRING,
        reason=STRING,
        signal=INT32,
        startedAt=TIME,
    ),
    waiting=obj("io.k8s.api.core.v1.ContainerStateWaiting", message=STRING, reason=STRING),
)
CONTAINER_STATUS = obj(
    "io.k8s.api.core.v1.ContainerStatus",
    ("name", "ready", "restartCount", "image", "imageID"),
    allocatedResources=map_of(QUANTITY),
    containerID=STRING,
    image=STRING,
    imageID=STRING,
    lastState=CONTAINER_STATE,
    name=STRING,
    ready=BOOL,
    resources=RESOURCES,
    restartCount=INT32,
    started=BOOL,
    state=CONTAINER_STATE,
    user=ANY,
    volumeMounts=array(ANY),
)
POD_CONDITION = obj(
    "io.k8s.api.core.v1.PodCondition",
    ("type", "status"),
    lastProbeTime=TIME,
    lastTransitionTime=TIME,
    message=STRING,
    reason=STRING,
    status=STRING,
    type=STRING,
)
POD_STATUS = obj(
    "io.k8s.api.core.v1.PodStatus",
    conditions=array(POD_CONDITION, merge_key="type"),
    containerStatuses=array(CONTAINER_STATUS),
    ephemeralContainerStatuses=array(CONTAINER_STATUS),
    hostIP=STRING,
    hostIPs=array(ANY),
    initContainerStatuses=array(CONTAINER_STATUS),
    message=STRING,
    nominatedNodeName=STRING,
    phase=STRING,
    podIP=STRING,
    podIPs=array(ANY, merge_key="ip"),
    qosClass=STRING,
    reason=STRING,
    resize=STRING,
    resourceClaimStatuses=array(ANY),
    startTime=TIME,
)
POD = obj(
    "io.k8s.api.core.v1.Pod",
    apiVersion=STRING,
    kind=STRING,
    metadata=OBJECT_META,
    spec=POD_SPEC,
    status=POD_STATUS,
)

# MARK: - Jobs

JOB_SPEC = obj(
    "io.k8s.api.batch.v1.JobSpec",
    ("template",),
    activeDeadlineSeconds=INT64,
    backoffLimit=INT32,
    backoffLimitPerIndex=INT32,
    completionMode=enum("NonIndexed", "Indexed"),
    completions=INT32,
    managedBy=STRING,
    manualSelector=BOOL,
    maxFailedIndexes=INT32,
    parallelism=INT32,
    podFailurePolicy=obj(
        "io.k8s.api.batch.v1.PodFailurePolicy",
        ("rules",),
        rules=array(
            obj(
                "io.k8s.api.batch.v1.PodFailurePolicyRule",
                ("action",),
                action=enum("Count", "FailIndex", "FailJob", "Ignore"),
                onExitCodes=obj(
                    "io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement",
                    ("operator", "values"),
                    containerName=STRING,
                    operator=enum("In", "NotIn"),
                    values=array(INT32),
                ),
                onPodConditions=array(
                    obj(
                        "io.k8s.api.batch.v1.PodFailurePolicyOnPodConditionsPattern",
                        ("type",),
                        status=STRING,
                        type=STRING,
                    )
                ),
            )
        ),
    ),
    podReplacementPolicy=enum("TerminatingOrFailed", "Failed"),
    selector=LABEL_SELECTOR,
    successPolicy=obj(
        "io.k8s.api.batch.v1.SuccessPolicy",
        ("rules",),
        rules=array(obj("io.k8s.api.batch.v1.SuccessPolicyRule", succeededCount=INT32, succeededIndexes=STRING)),
    ),
    suspend=BOOL,
    template=POD_TEMPLATE_SPEC,
    ttlSecondsAfterFinished=INT32,
)
JOB_CONDITION = obj(
    "io.k8s.api.batch.v1.JobCondition",
    ("type", "status"),
    lastProbeTime=TIME,
    lastTransitionTime=TIME,
    message=STRING,
    reason=STRING,
    status=STRING,
    type=STRING,
)
JOB_STATUS = obj(
    "io.k8s.api.batch.v1.JobStatus",
    active=INT32,
    completedIndexes=STRING,
    completionTime=TIME,
    conditions=array(JOB_CONDITION, merge_key="type"),
    failed=INT32,
    failedIndexes=STRING,
    ready=INT32,
    startTime=TIME,
    succeeded=INT32,
    terminating=INT32,
    uncountedTerminatedPods=obj("io.k8s.api.batch.v1.UncountedTerminatedPods", failed=STRINGS, succeeded=STRINGS),
)
JOB = obj(
    "io.k8s.api.batch.v1.Job",
    apiVersion=STRING,
    kind=STRING,
    metadata=OBJECT_META,
    spec=JOB_SPEC,
    status=JOB_STATUS,
)

# MARK: - The rest of the core group

NAMESPACE = obj(
    "io.k8s.api.core.v1.Namespace",
    apiVersion=STRING,
    kind=STRING,
    metadata=OBJECT_META,
    spec=obj("io.k8s.api.core.v1.NamespaceSpec", finalizers=STRINGS),
    status=obj("io.k8s.api.core.v1.NamespaceStatus", conditions=array(ANY), phase=STRING),
)
SECRET = obj(
    "io.k8s.api.core.v1.Secret",
    apiVersion=STRING,
    data=map_of(BYTES),
    immutable=BOOL,
    kind=STRING,
    metadata=OBJECT_META,
    stringData=STRING_MAP,
    type=STRING,
)
CONFIG_MAP = obj(
    "io.k8s.api.core.v1.ConfigMap",
    apiVersion=STRING,
    binaryData=map_of(BYTES),
    data=STRING_MAP,
    immutable=BOOL,
    kind=STRING,
    metadata=OBJECT_META,
)
EVENT = obj(
    "io.k8s.api.core.v1.Event",
    **{
        name: ANY
        for name in (
            "action count eventTime firstTimestamp involvedObject lastTimestamp message reason related "
            "reportingComponent reportingInstance series source type"
        ).split()
    },
    apiVersion=STRING,
    kind=STRING,
    metadata=OBJECT_META,
)

SCHEMAS: dict[str, Schema] = {
    "jobs": JOB,
    "pods": POD,
    "namespaces": NAMESPACE,
    "secrets": SECRET,
    "configmaps": CONFIG_MAP,
    "events": EVENT,
}


# MARK: - Strict field validation


class FieldProblems:
    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.wrong_type: list[str] = []


def check_fields(schema: Schema, value: Any, path: str = "", problems: FieldProblems | None = None) -> FieldProblems:
    """Unknown fields and values of the wrong JSON type in `value`, with paths like spec.template.spec.x."""
    problems = problems or FieldProblems()
    if value is None or schema.type == "any":
        return problems
    described = path or "<root>"
    if schema.type == "object":
        if not isinstance(value, dict):
            problems.wrong_type.append(f"{described}: expected an object, got {_json_type(value)}")
            return problems
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key not in schema.fields:
                problems.unknown.append(child)
            else:
                check_fields(schema.fields[key], item, child, problems)
    elif schema.type == "array":
        if not isinstance(value, list):
            problems.wrong_type.append(f"{described}: expected an array, got {_json_type(value)}")
            return problems
        for index, item in enumerate(value):
            check_fields(schema.items, item, f"{path}[{index}]", problems)
    elif schema.type == "map":
        if not isinstance(value, dict):
            problems.wrong_type.append(f"{described}: expected an object, got {_json_type(value)}")
            return problems
        for key, item in value.items():
            check_fields(schema.items, item, f"{path}.{key}", problems)
    elif not _has_type(schema, value):
        wanted = (
            "an integer or a string"
            if schema.type == "int-or-string"
            else {"integer": "an integer"}.get(schema.type, f"a {schema.type}")
        )
        problems.wrong_type.append(f"{described}: expected {wanted}, got {_json_type(value)}")
    return problems


def _has_type(schema: Schema, value: Any) -> bool:
    if schema.type == "string":
        return isinstance(value, str)
    if schema.type == "boolean":
        return isinstance(value, bool)
    if schema.type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if schema.type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if schema.type == "int-or-string":
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    return True


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"
