// Package peft defines what every parameter-efficient adapter is: a trainable change wrapped around
// one frozen spago linear layer. HRA (peft/hra), LoRA (peft/lora) and OFT (peft/oft) implement
// the same Adapter interface and are built from a Config, so user code switches method by
// changing one value.
//
// # Your own spago model
//
// Wrap puts adapters into a model of your own, Save and Load store them in PEFT's format, and
// spago's nn.DumpToFile and nn.LoadFromFile store the whole wrapped model (the adapter types
// register themselves with gob):
//
//	adapters, err := peft.Wrap(model, hra.Config{R: 8}, peft.Targets{Modules: []string{"in"}}, rng)
//	params := peft.TrainableParams(adapters)      // for the optimiser; the base layers are frozen
//	loss = ag.Add(loss, peft.Regularization(adapters)) // a zero scalar when the method has none
//	err = peft.Save("my-adapter", model)           // later: peft.Load("my-adapter", freshModel)
//
// Wrap walks model, a pointer to your struct, by reflection. It finds the linear layers
// (*linear.Model) in exported struct fields, through pointers, interfaces, nested structs, slices,
// arrays and maps with string or integer keys (in key order), and names each by its path, as
// PyTorch names modules: a field's name in snake case ("FFN" → "ffn", "QueryProj" →
// "query_proj") or its `peft:"name"` tag, an element's index, an entry's key, so that
//
//	model.Encoder.Blocks[0].FFN.In → "encoder.blocks.0.ffn.in"
//
// Embedded structs add no part (their fields are promoted, as in Go), fields tagged `peft:"-"`
// are skipped, and nn.Module is ignored. Targets select among these names with PEFT's rules:
// "in", "ffn.in" or the full name select the layer above; LayersToTransform reads the index that
// follows the second part or a later one, so "encoder.blocks.0.ffn.in" has layer 0 but a top-level
// "blocks.0.ffn.in" has none (PEFT's own rule).
//
// The field-type rule: a layer can be replaced only where an adapter fits, that is in an exported
// field, slice or array element or map entry whose type is an interface that Adapter implements,
// such as nn.StandardModel, nn.Model or an interface of yours with a subset of Adapter's methods.
// A field of type *linear.Model cannot hold an adapter: declare it as nn.StandardModel, and call
// it as spago does, layer.Forward(x). Wrap reports every targeted layer it cannot replace, by
// path and with the change to make, and then changes nothing; unexported fields, layers reached
// by two paths (shared weights) and layers wrapped already are refused too.
//
// # Forward conventions
//
// spago works in column vectors: Forward(xs...) takes tokens as in×1 vectors and returns out×1
// vectors, as *linear.Model does, so the adapter is a drop-in replacement; losses.MSE or
// losses.MSESeq on those vectors train correctly. ForwardRows takes the tokens row-stacked (n×in)
// and returns n×out in one product, the fast path. Use a loss that works on matrices there:
// spago v1.1.0's ag.ReduceSum, and so losses.MSE, gives a matrix a gradient of the wrong shape
// and the backward pass stops the process; with d = ag.Sub(y, target), ag.Dot(d, d) is the sum of
// squares with correct gradients.
//
// # Optimisers
//
// spago v1.1.0's Optimizer.Optimize returns before its goroutines finish, so with more than one
// core its Adam can update a parameter while the next step reads it: losses differ run to run and
// a nil-pointer panic can occur. integration/train's AdamW is exact against PyTorch and
// synchronous: train.NewAdamW(peft.TrainableParams(adapters), lr, weightDecay) and Step after each
// backward pass.
//
// # What is here
//
// For users: Config (built by hra.Config, lora.Config, oft.Config) and Adapter; Targets;
// Wrap, Adapters, TrainableParams, Regularization, Save and Load for a model of your own;
// CountParams and ConfigOf. For integrations that name modules their own way, as
// integration/bert does for Hugging Face's BERT: SaveAdapter, LoadAdapterConfig,
// ParseAdapterConfig, LoadAdapterTensors, LoadAdapterMetadata, AdapterParams, SetParams and
// TensorKey read and write PEFT's files piece by piece. The plumbing that method packages share
// (the registry of methods behind adapter files, argument checks, the record of wrapped layers)
// is internal and not part of the API.
package peft
