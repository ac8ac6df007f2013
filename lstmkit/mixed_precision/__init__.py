"""Mixed precision with Keras's API: ``lstmkit.mixed_precision.set_global_policy('mixed_bfloat16')``.

See policy.py (what a policy changes, and where it pays) and loss_scale_optimizer.py (float16 loss
scaling).
"""

from lstmkit.mixed_precision.loss_scale_optimizer import LossScaleOptimizer
from lstmkit.mixed_precision.policy import DTypePolicy, Policy, global_policy, policy_of, set_global_policy

set_dtype_policy = set_global_policy  # keras.config.set_dtype_policy
dtype_policy = global_policy  # keras.config.dtype_policy

__all__ = [
    "DTypePolicy",
    "LossScaleOptimizer",
    "Policy",
    "dtype_policy",
    "global_policy",
    "policy_of",
    "set_dtype_policy",
    "set_global_policy",
]
