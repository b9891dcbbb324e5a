"""Fine-tuning: training data, embedding and LoRA training, background jobs and OpenAI fine-tuning.

The method's order holds here too: try prompting first, set a baseline, and judge every fine-tuned model on
held-out questions that never reached its training data.
"""
