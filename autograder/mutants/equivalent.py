"""Machine mutants that no grader can kill, because they compute what the solution computes.

``course validate --mutate`` fails on a machine mutant that keeps full marks (a survivor) unless it is
listed here, under its assignment, by its id (``<blank>:<operator>:<line>:<col>:<what>``, as the report
prints it) with the reason it is equivalent. An entry that matches no generated mutant (the solution
changed) is stale and fails the run too, and so does an entry whose mutant is killed: only what is
truly equivalent belongs here, never a mistake the graders miss.
"""

EQUIVALENT: dict[str, dict[str, str]] = {
    "01-rnn-foundations": {
        "params_from_torch:no-clone:2:37:drop .clone()":
            "the blank asks for detached tensors, \".clone()\" optional (its prose: 用 .detach()（可以再加 .clone()）): "
            "a detached view of the parameter is within the contract, and no call may change what it is "
            "given (autograder.guard), so the view cannot be written through",
        "params_from_torch:no-clone:3:37:drop .clone()":
            "the blank asks for detached tensors, \".clone()\" optional (its prose: 用 .detach()（可以再加 .clone()）): "
            "a detached view of the parameter is within the contract, and no call may change what it is "
            "given (autograder.guard), so the view cannot be written through",
        "params_from_torch:no-clone:5:30:drop .clone()":
            "the blank asks for detached tensors, \".clone()\" optional (its prose: 用 .detach()（可以再加 .clone()）): "
            "a detached view of the parameter is within the contract, and no call may change what it is "
            "given (autograder.guard), so the view cannot be written through",
        "params_from_torch:no-clone:6:28:drop .clone()":
            "the blank asks for detached tensors, \".clone()\" optional (its prose: 用 .detach()（可以再加 .clone()）): "
            "a detached view of the parameter is within the contract, and no call may change what it is "
            "given (autograder.guard), so the view cannot be written through",
        "params_from_torch:no-clone:4:54:drop .clone()":
            "the sum bias_ih_l0 + bias_hh_l0 is already a new tensor, shared with nothing: .detach() of it "
            "is as independent of the module as its .clone()",
        "train_elman:no-clone:1:22:drop .clone()":
            "the copy only keeps the caller's params apart from the updates, and every update makes new tensors "
            "(θ − lr·g, never in place): without .clone() the first step reads the caller's tensors and changes "
            "none of them, so the run, its losses and the caller's params are the same (a version that updates in "
            "place is the mutant train-in-place, caught)",
    },
    "02-char-rnn": {},
    "03-lstm": {},
}
