"""GPT checkpoint formats, one module each: OpenAI's GPT-2 TF1 checkpoint (``openai_gpt2_tf1``),
GPT-1's numpy shards (``openai_gpt1_npy``), Hugging Face safetensors (``hf_gpt_safetensors``) and
bertzoo's own (``bertzoo_gpt``); ``gpt_weights`` names the weights they all translate to."""
